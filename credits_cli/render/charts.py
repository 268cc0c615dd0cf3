"""Text bars: Unicode eighth-blocks in a terminal, plain '#' otherwise."""

from __future__ import annotations

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: int, maximum: int, width: int, plain: bool = False) -> str:
    if maximum <= 0 or value <= 0 or width <= 0:
        return ""
    cells = value * width / maximum
    full = int(cells)
    if plain:
        return "#" * max(1, round(cells))
    rest = int((cells - full) * 8)
    text = "█" * full + (_EIGHTHS[rest] if rest and full < width else "")
    return text or "▏"


def meter(used: int, total: int, width: int, plain: bool = False) -> str:
    """A progress bar of `used` out of `total`, `width` cells wide."""
    if total <= 0:
        return ("." if plain else "░") * width
    filled = min(width, max(1 if used > 0 else 0, round(used * width / total)))
    if plain:
        return "#" * filled + "." * (width - filled)
    return "█" * filled + "░" * (width - filled)
