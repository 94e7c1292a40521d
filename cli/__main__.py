"""`python -m cli`: the `browserq` command without the console script."""

from cli.app import app

app()
