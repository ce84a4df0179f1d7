"""The fitting commands (``valueint fit``, ``compare``, ``recover``, ``ppc``): what they
refuse, and what they write, on the shared small fits and on the real data."""

import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import SMALL_FITS
from valueint.cli import fit as fit_cli
from valueint.inference.fit_files import load_fit, save_fit
from valueint.trials.datasets import resolve_cutler2021

pytestmark = pytest.mark.xdist_group(SMALL_FITS)


@pytest.fixture(scope="module")
def cli():
    app = typer.Typer()
    fit_cli.register(app)
    return app


def test_cli_rejects_bad_input_with_exit_code_2(cli, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["fit", "missing.csv", "--model", "rw", "--out", "f.nc"])
    assert result.exit_code == 2 and "no data file missing.csv" in result.output
    result = runner.invoke(cli, ["fit", "missing.csv", "--model", "nope", "--out", "f.nc"])
    assert result.exit_code == 2 and "unknown model 'nope'" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,block,trial,choice,outcome\n1,1,1,3,1\n1,1,2,0,0\n")
    result = runner.invoke(cli, ["fit", str(bad), "--model", "rw", "--out", str(tmp_path / "f.nc")])
    assert result.exit_code == 2
    assert "bad.csv" in result.output and "choice" in result.output and "row 1" in result.output
    result = runner.invoke(cli, ["compare", str(bad), str(bad)])
    assert result.exit_code == 2 and "bad.csv" in result.output


def test_cli_compare_and_ppc_on_saved_fits(cli, two_fits, tmp_path):
    paths = []
    for name, idata in two_fits.items():
        paths.append(save_fit(idata, tmp_path / f"{name}.nc"))
    runner = CliRunner()
    out, plot = tmp_path / "table.csv", tmp_path / "compare.png"
    args = ["compare", *map(str, paths), "--out", str(out), "--plot", str(plot)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, index_col=0)
    assert table.index[0] == "rw" and "weight" in table.columns
    assert plot.stat().st_size > 1000
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and "overwrite" in result.output
    result = runner.invoke(cli, ["ppc", str(paths[0]), "--out", str(tmp_path / "ppc.png")])
    assert result.exit_code == 0, result.output
    assert "observed" in result.output and (tmp_path / "ppc.png").stat().st_size > 1000


def _real_data_present() -> bool:
    try:
        resolve_cutler2021()
    except FileNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _real_data_present(), reason="Cutler et al. (2021) data not present")
def test_cli_fit_end_to_end_on_real_data(cli, tmp_path):
    """All 152 participants, a short SVI fit with an age-group effect; then the saved file."""
    out = tmp_path / "cutler_rw.nc"
    args = [
        "fit",
        "cutler2021",
        "--model",
        "rw_recipient",
        "--out",
        str(out),
        "--method",
        "svi",
        "--svi-steps",
        "100",
        "--draws",
        "40",
        "--group-covariate",
        "group",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "alpha_self_by_group" in result.output and "mu_beta" in result.output
    idata = load_fit(out)
    assert idata.posterior.sizes["subject"] == 152
    assert set(idata.posterior["group"].values) == {"young", "older"}
    n_observed = int(idata.constant_data["mask"].sum())
    assert idata.log_likelihood.sizes["obs"] == n_observed < 152 * 144
    assert idata.attrs["data_source"] == "cutler2021"
    # the data set's declared start value, as in every other path that fits it
    assert json.loads(idata.attrs["settings"])["options"] == "{'q_init': 0.5}"
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "overwrite" in result.output
    # an option given on the command line wins over the data set's
    result = CliRunner().invoke(cli, [*args, "--overwrite", "--option", "q_init=0.0"])
    assert result.exit_code == 0, result.output
    assert json.loads(load_fit(out).attrs["settings"])["options"] == "{'q_init': 0.0}"


@pytest.mark.slow
def test_ctrl_c_stops_a_fit_saying_that_nothing_was_written(tmp_path):
    """Ctrl-C during ``valueint fit``: exit code 130, a message naming the file that was
    not written, no traceback, and no file."""
    import os
    import signal
    import subprocess
    import sys
    import time

    data = tmp_path / "trials.csv"
    rows = [f"s{s},1,{t},{t % 2},{(s + t) % 2}" for s in range(3) for t in range(1, 9)]
    data.write_text("subject,block,trial,choice,outcome\n" + "\n".join(rows) + "\n")
    out = tmp_path / "fit.nc"
    command = [sys.executable, "-m", "valueint.cli.app", "fit", str(data), "--model", "rw"]
    command += ["--out", str(out), "--draws", "20000", "--warmup", "20000"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # Ctrl-C as a terminal delivers it: a test process may ignore SIGINT (a job
        # engine's worker setup can leave it so), and an ignored SIGINT is inherited, so
        # the fit would never see it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(8)  # JAX has started and the fit is under way
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 130, output
    assert f"interrupted: nothing was written to {out}" in output
    assert "Traceback" not in output and not out.exists()
