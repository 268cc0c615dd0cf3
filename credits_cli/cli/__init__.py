"""The command line: thin typer commands over the services. The only package that imports typer.

`credits log`, which shell scripts call after every AI call, starts on a lean
path that imports neither typer nor rich (cli/fast.py); everything else, and
any `log` call the lean parser does not take, goes through the typer app.
"""

import sys


def main() -> None:
    if "log" in sys.argv:
        from .fast import run

        code = run(sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    from .app import app

    app()
