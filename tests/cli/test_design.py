"""``valueint design``: a study file that cannot be used fails with its reason."""

from typer.testing import CliRunner

from valueint.cli.app import app


def test_a_bad_study_file_fails_naming_the_key(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text('level = "paradigm"\nsizes = [50, 20]\n')
    result = CliRunner().invoke(app, ["design", str(study), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "sizes must increase" in result.output
    missing = CliRunner().invoke(app, ["design", str(tmp_path / "none.toml"), "--out", "x"])
    assert missing.exit_code != 0 and "no study file" in missing.output


def test_a_finished_job_is_summarized_without_running(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(
        'level = "trial"\nsizes = [4]\n[truth]\nmodel = "isr"\nfrom = "prior"\n'
        '[fit]\nmodels = ["isr", "rw"]\n[criteria]\nweight = "w"\n'
    )
    result = CliRunner().invoke(app, ["design", str(study), "--out", str(tmp_path), "--no-run"])
    assert result.exit_code != 0 and "no simulated study has finished" in result.output
