"""Safe output: atomic writes with ordinary permissions, and no silent overwrite."""

import os
import stat

import pytest

from valueint.records import atomic_write, check_output_paths, package_versions


def test_atomic_write_leaves_one_readable_file(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "sub" / "out.csv", "a,b\n1,2\n")
        atomic_write(path, b"replaced")
    finally:
        os.umask(old)
    assert path.read_bytes() == b"replaced"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's private 0600
    assert [p.name for p in path.parent.iterdir()] == ["out.csv"]  # no temporary left


def test_failed_write_keeps_the_old_file(tmp_path):
    path = atomic_write(tmp_path / "keep.txt", "old")
    with pytest.raises(TypeError):
        atomic_write(path, 12345)  # not text or bytes: the write fails midway
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_check_output_paths_names_existing_files(tmp_path):
    existing = tmp_path / "figure.png"
    existing.write_bytes(b"x")
    check_output_paths([tmp_path / "new.png"], overwrite=False)
    check_output_paths([existing], overwrite=True)
    with pytest.raises(FileExistsError, match="figure.png.*--overwrite"):
        check_output_paths([existing, tmp_path / "new.png"], overwrite=False)


def test_versions_are_recorded():
    versions = package_versions()
    assert {"python", "jax", "numpyro", "valueint"} <= set(versions)


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path):
    from valueint.records import atomic_path

    target = tmp_path / "fit.nc"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"netcdf")
    assert target.read_bytes() == b"netcdf"
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # readable by others, as open() makes
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "broken.nc") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc"]


def test_save_figure_gives_the_same_pdf_twice_and_closes_the_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from valueint.records import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    first = save_figure(fig, tmp_path / "a.pdf", close=False)
    second = save_figure(fig, tmp_path / "b.pdf")  # no creation date: same bytes
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[:5] == b"%PDF-"
    assert not plt.fignum_exists(fig.number)  # closed after the last save


def _git(cwd, *args):
    import subprocess

    identity = ["-c", "user.name=test", "-c", "user.email=test@example.org"]
    done = subprocess.run(["git", *identity, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


needs_git = pytest.mark.skipif(
    __import__("shutil").which("git") is None, reason="git is not installed"
)


@needs_git
def test_code_version_names_the_commit_and_whether_the_package_differs(tmp_path):
    from valueint.records import code_version

    package = tmp_path / "models" / "pkg"
    package.mkdir(parents=True)
    (package / "module.py").write_text("x = 1\n")
    _git(tmp_path, "init", "--quiet")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "--quiet", "-m", "first")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert code_version(package) == {"commit": head, "dirty": False, "package": "models/pkg"}

    (tmp_path / "elsewhere.txt").write_text("not the package")  # outside it: still clean
    assert code_version(package)["dirty"] is False
    (package / "module.py").write_text("x = 2\n")
    assert code_version(package) == {"commit": head, "dirty": True, "package": "models/pkg"}
    (package / "module.py").write_text("x = 1\n")
    (package / "new.py").write_text("")  # an untracked module could be imported too
    assert code_version(package)["dirty"] is True


@needs_git
def test_code_version_is_none_outside_a_checkout_or_for_an_untracked_copy(tmp_path):
    from valueint.records import code_version

    assert code_version(tmp_path) is None  # no repository
    _git(tmp_path, "init", "--quiet")
    copy = tmp_path / "venv" / "pkg"  # e.g. an installed copy inside some checkout
    copy.mkdir(parents=True)
    (copy / "module.py").write_text("")
    assert code_version(copy) is None


def test_run_record_carries_the_code_version():
    from valueint.records import run_record

    record = run_record(command="test", config={}, seeds=[0], wall_time_s=0.0)
    if record["code"] is not None:  # run from this repository's checkout
        assert record["code"]["package"] == "models/valueint"
        assert len(record["code"]["commit"]) == 40


def test_run_record_names_the_code_the_process_started_with(monkeypatch):
    """Commits made while a run goes on do not change the commit its record names."""
    from valueint import records

    started = {"commit": "a" * 40, "dirty": False, "package": "models/valueint"}
    monkeypatch.setattr(records, "CODE_AT_START", started)
    monkeypatch.setattr(records, "code_version", lambda *a, **k: {"commit": "b" * 40})
    assert records.run_record(command="t", config={}, seeds=[0], wall_time_s=0)["code"] == started
