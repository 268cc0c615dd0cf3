"""The command line: thin typer commands over the services. The only package that imports typer."""


def main() -> None:
    from .app import app

    app()
