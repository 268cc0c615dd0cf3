"""The generated parts of the README and docs/ are what the code produces today, and every link
between the pages points at a file (and a heading) of the repository."""

import re
from pathlib import Path

import pytest
from cogapp import Cog

ROOT = Path(__file__).parent.parent
PAGES = ["README.md", "docs/reference.md", "docs/json.md", "docs/storage.md"]
REGENERATE = "cog -r " + " ".join(PAGES)


def test_the_generated_pages_are_the_cog_pages():
    """Every page with a cog block is in PAGES, so the check and the command below cover it."""
    cogged = sorted(
        p.relative_to(ROOT).as_posix()
        for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
        if "[[[cog" in p.read_text()
    )
    assert cogged == sorted(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_the_generated_text_is_up_to_date(page, monkeypatch, capsys):
    """The help, the tour's output, the JSON examples and the schema, regenerated, change nothing."""
    monkeypatch.chdir(ROOT)  # the README's cog block imports docs.cogdocs from the repository root
    status = Cog().main(["cog", "--check", "--diff", "--verbosity=0", page])
    assert status == 0, f"{page} is stale: run `{REGENERATE}`\n{capsys.readouterr().out}"


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_link_between_pages_points_into_the_repository():
    for page in [ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target, anchor in re.findall(r"\]\(([^)#]*)(?:#([^)]*))?\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path = (page.parent / target).resolve() if target else page.resolve()
            assert path.is_relative_to(ROOT.resolve()), f"{page.name} links outside the repository: {target}"
            assert path.exists(), f"{page.relative_to(ROOT)} links to a missing file: {target}"
            if anchor and path.suffix == ".md":
                assert anchor in _anchors(path), (
                    f"{page.relative_to(ROOT)} links to a missing heading: {target}#{anchor}"
                )
