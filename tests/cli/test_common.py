"""Error exits of the command line keep every character of their message."""

from __future__ import annotations

from typer.testing import CliRunner

from valueint.cli.app import app


def test_brackets_in_an_error_message_are_printed_not_read_as_markup(tmp_path):
    missing = tmp_path / "trials[s01].csv"  # '[s01]' would be swallowed as a rich tag
    result = CliRunner().invoke(
        app, ["fit", str(missing), "--model", "rw", "--out", str(tmp_path / "fit.nc")]
    )
    assert result.exit_code == 2
    assert "trials[s01].csv" in result.output
