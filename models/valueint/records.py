"""Run records and safe output: nothing is overwritten unless asked, nothing half-written."""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

PACKAGES = ("valueint", "jax", "jaxlib", "numpyro", "numpy", "pandas", "arviz", "seaborn")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def code_version(package_dir: str | Path | None = None) -> dict | None:
    """The git commit the package ran from: ``{"commit", "dirty", "package"}``, or None
    where the package is not tracked by a git checkout (an installed copy, no git).

    ``dirty`` says whether the package's own files differed from that commit (edited or
    new files under it; changes elsewhere in the checkout do not count), and ``package``
    is its folder relative to the checkout's root, the path a staleness check compares.
    """
    package_dir = Path(package_dir or Path(__file__).parent).resolve()

    def git(*args: str) -> str:
        # --no-optional-locks: status must not take the index lock from a concurrent commit
        command = ["git", "--no-optional-locks", "-C", str(package_dir), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
        return done.stdout.strip()

    try:
        root = Path(git("rev-parse", "--show-toplevel")).resolve()
        if not git("ls-files", "--", "."):
            return None  # a copy inside some other checkout (e.g. a venv): not this code
        status = git("status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        commit = git("rev-parse", "--verify", "HEAD")
    except subprocess.SubprocessError:
        commit = None  # a checkout without commits yet
    return {
        "commit": commit,
        "dirty": bool(status),
        "package": package_dir.relative_to(root).as_posix(),
    }


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``
    (with the mode a plain ``open()`` would give), on failure removed.  For writers
    that want a file name (netCDF, figures) rather than data."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write to a temporary file beside ``path`` and rename it into place."""
    mode = "wb" if isinstance(data, bytes) else "w"
    with atomic_path(path) as tmp, open(tmp, mode) as fh:
        fh.write(data)
    return Path(path)


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (figures are written, never shown)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, *, close: bool = True, **savefig_kwargs) -> Path:
    """Save a matplotlib figure atomically, in the format its suffix names (dpi 150 unless
    given).  PDFs carry no creation date, so the same figure gives the same file."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    if fmt == "pdf":
        savefig_kwargs.setdefault("metadata", {"CreationDate": None})
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, **{"dpi": 150, **savefig_kwargs})
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return atomic_write(path, buffer.getvalue())


def save_cropped(fig, path: str | Path, overwrite: bool = False) -> Path:
    """Save (tightly cropped) and close a figure; refuses to overwrite unless asked."""
    check_output_paths([path], overwrite)
    return save_figure(fig, path, bbox_inches="tight")


def check_output_paths(paths, overwrite: bool) -> None:
    """Refuse to replace existing files unless ``overwrite``; the message lists them."""
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"refusing to overwrite existing output: {', '.join(existing)} "
            "(pass --overwrite to replace, or choose another --out)"
        )


def report_paths(out: str | Path, tables, figures, records) -> dict[str, Path]:
    """The files of a report in ``out``, by name, in the order given: each table as CSV,
    each figure as PNG and PDF, then the records (``run.json``, ``summary.md``)."""
    names = [f"{t}.csv" for t in tables]
    names += [f"{f}.{ext}" for f in figures for ext in ("png", "pdf")]
    return {name: Path(out) / name for name in [*names, *records]}


# the code as this process loaded it: a run's record names the commit it started from, not
# the one checked out when it ends (a long run outlives commits made beside it)
CODE_AT_START = code_version()


def run_record(*, command: str, config: dict, seeds, wall_time_s: float, **extra) -> dict:
    return {
        "command": command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seeds": [int(s) for s in seeds],
        "wall_time_s": round(float(wall_time_s), 3),
        "versions": package_versions(),
        # the commit makes the record checkable against later changes to the code
        "code": CODE_AT_START,
        "platform": platform.platform(),
        "config": config,
        **extra,
    }


def write_csv(path: str | Path, table) -> Path:
    """A DataFrame as CSV (no index), atomically."""
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return atomic_write(path, buffer.getvalue())


def write_json(path: str | Path, record: dict) -> Path:
    return atomic_write(path, json.dumps(record, indent=2, default=str) + "\n")
