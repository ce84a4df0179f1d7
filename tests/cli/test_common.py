"""What every command shares: error exits that keep every character of their message,
help that reads whole at 80 columns, and one set of sampler and engine options."""

from __future__ import annotations

from typer.testing import CliRunner

from valueint.cli.app import app
from valueint.cli.common import engine_options, sampler_options
from valueint.jobs import Engine


def test_brackets_in_an_error_message_are_printed_not_read_as_markup(tmp_path):
    missing = tmp_path / "trials[s01].csv"  # '[s01]' would be swallowed as a rich tag
    result = CliRunner().invoke(
        app, ["fit", str(missing), "--model", "rw", "--out", str(tmp_path / "fit.nc")]
    )
    assert result.exit_code == 2
    assert "trials[s01].csv" in result.output


def commands(group, prefix=()):
    """Every command of the app as its argument list, e.g. ("analyze", "paradigm")."""
    import typer.main

    click_group = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, command in click_group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_help_text_reads_whole_at_80_columns():
    runner = CliRunner()
    for command in commands(app):
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
        assert result.exit_code == 0, (command, result.output)
        lines = result.output.splitlines()
        assert max(map(len, lines)) <= 80, command
        assert "…" not in result.output, (command, [line for line in lines if "…" in line])


def test_an_option_group_gives_every_command_one_set_of_options_and_one_value():
    import typer

    seen = {}

    @sampler_options
    @engine_options
    def command(name: str = "x", *, sampler: dict, engine) -> None:
        seen.update(name=name, sampler=sampler, engine=engine)

    app_ = typer.Typer()
    app_.command()(command)
    result = CliRunner().invoke(app_, ["--draws", "50", "--target-accept", "0.9", "--workers", "2"])
    assert result.exit_code == 0, result.output
    # only the options given reach the sampler; the engine is one value
    assert seen["sampler"] == {"draws": 50, "target_accept_prob": 0.9}
    assert seen["engine"] == Engine(workers=2, progress=True)
    assert CliRunner().invoke(app_, ["--chains", "0"]).exit_code == 2  # checked by the option
    help_text = CliRunner().invoke(app_, ["--help"], env={"COLUMNS": "80"}).output
    assert "Sampler" in help_text and "Job engine" in help_text
