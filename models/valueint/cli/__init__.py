"""Every `valueint` command (typer): `valueint.cli.app:app` and its sub-apps."""
