"""Every `valueint` command (typer): the app and its sub-apps."""

from valueint.cli.app import app

__all__ = ["app"]
