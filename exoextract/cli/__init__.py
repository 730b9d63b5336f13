"""The front door: the command line (options, commands, rendering) and the demo."""

from exoextract.cli.commands import app, main

__all__ = ["app", "main"]
