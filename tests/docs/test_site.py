"""The documentation site as a reader sees it (`make test-docs`).

The site is built once, with warnings as errors, into a temporary folder (its executed
pages come from the execution cache in docs/_build when their code is unchanged).  Then:
every relative link and anchor of the built HTML resolves; the generated model catalogue,
config reference and API reference hold everything the code registers; and the home
page, the API page and a tutorial open in headless Chromium, whose screenshots are kept
in docs/_build/screenshots/ to look at.
"""

from __future__ import annotations

import os
import pkgutil
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.docs

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
SCREENSHOTS = DOCS / "_build" / "screenshots"
BUILD_TIMEOUT_S = 600
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # a container's small /dev/shm would crash the renderer
    "--hide-scrollbars",
    "--window-size=1280,1600",
    "--virtual-time-budget=5000",  # let the theme's scripts lay the page out first
)
# page shown -> screenshot file
PAGES = {
    "index.html": "home.png",
    "api.html": "api.png",
    "tutorials/01_socialization_simulation.html": "tutorial.png",
}
MIN_SCREENSHOT_BYTES = 20_000


class _Anchors(HTMLParser):
    """The ids a page defines and the relative URLs it points to."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(name):
                self.ids.add(attrs[name])
        for name in ("href", "src"):
            url = attrs.get(name)
            if url and not urlsplit(url).scheme and not url.startswith("//"):
                self.urls.append(url)


def _parse(page: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The built site's HTML folder, built with -W (-E: every page read again, so every
    warning is seen, even from pages an earlier build left unchanged)."""
    pytest.importorskip("sphinx", reason="the docs extra is not installed: make test-docs")
    pytest.importorskip("myst_nb", reason="the docs extra is not installed: make test-docs")
    html = tmp_path_factory.mktemp("site") / "html"
    command = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-b", "html"]
    result = subprocess.run(
        [*command, str(DOCS), str(html)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, (
        f"the site did not build:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    return html


def test_site_builds_without_warnings(site):
    assert (site / "index.html").is_file()
    assert (site / "api.html").is_file()


def test_every_internal_link_resolves(site):
    # _static holds the theme's files as shipped (a Jinja macro file among them), not pages
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    parsed = {page: _parse(page) for page in pages}
    broken = []
    for page, anchors in parsed.items():
        for url in anchors.urls:
            parts = urlsplit(url)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {url} (no such file)")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if fragment not in ids:
                    broken.append(f"{page.relative_to(site)}: {url} (no such anchor)")
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:50])


GENERATED_IDS = ('id="catalogue-', 'id="config-')


def _section(page: Path, element_id: str) -> str:
    """The HTML from the generated table ``element_id`` to the next generated table."""
    text = page.read_text(encoding="utf-8")
    start = text.find(f'id="{element_id}"')
    assert start >= 0, f"{page.name} has no element {element_id!r}"
    ends = [text.find(marker, start + 1) for marker in GENERATED_IDS]
    return text[start : min([end for end in ends if end > 0], default=len(text))]


def _names_shown(html: str) -> set[str]:
    return set(re.findall(r'<span class="pre">([^<]+)</span>', html))


def test_model_catalogue_lists_every_registered_model(site):
    from valueint.inference.family import FAMILIES
    from valueint.sim.envs import WORLDS

    page = site / "models.html"
    missing = []
    for family in FAMILIES.values():
        shown = _names_shown(_section(page, f"catalogue-{family.name}"))
        missing += [f"{family.name}: {m}" for m in family.models.names() if m not in shown]
    shown = _names_shown(_section(page, "catalogue-worlds"))
    missing += [f"world: {w}" for w in WORLDS.names() if w not in shown]
    assert not missing, f"the catalogue lacks {missing}"


def test_config_reference_lists_every_field(site):
    from valueint.sim import config

    page = site / "configs.html"
    missing = []
    for table in ("experiment", "caregiver", "learner"):
        shown = _names_shown(_section(page, f"config-{table}"))
        defaults = getattr(config, f"{table.upper()}_DEFAULTS")
        missing += [f"{table}.{key}" for key in defaults if f"{table}.{key}" not in shown]
    assert not missing, f"the config reference lacks {missing}"


def test_api_reference_has_every_module(site):
    import valueint

    modules = [
        m.name for m in pkgutil.iter_modules(valueint.__path__) if not m.name.startswith("_")
    ]
    missing = [m for m in modules if not (site / "api" / f"valueint.{m}.html").is_file()]
    assert not missing, f"the API reference has no page for {missing}"
    top_level = (site / "api.html").read_text(encoding="utf-8")
    missing = [
        name for name in valueint.__all__ if f'<span class="pre">{name}</span>' not in top_level
    ]
    assert not missing, f"the API page does not show {missing}"


def _chromium() -> str | None:
    """The browser, if one is installed that runs (a snap stub on PATH does not)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    try:
        subprocess.run([browser, "--version"], capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return browser


@pytest.fixture(scope="session")
def screenshots(site, tmp_path_factory):
    browser = _chromium()
    if browser is None:
        pytest.skip("no working chromium (Debian: apt-get install -y chromium)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {}
    for page, name in PAGES.items():
        shot = SCREENSHOTS / name
        shot.unlink(missing_ok=True)
        profile = tmp_path_factory.mktemp("chromium-profile")
        result = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}"]
            + [(site / page).as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": str(profile)},
        )
        assert shot.is_file(), f"chromium made no screenshot of {page}:\n{result.stderr[-2000:]}"
        shots[page] = shot
    return shots


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_a_browser(screenshots, page):
    import matplotlib.image
    import numpy as np

    shot = screenshots[page]
    assert shot.stat().st_size > MIN_SCREENSHOT_BYTES, f"{shot} is almost empty"
    pixels = matplotlib.image.imread(shot)[..., :3]
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"{shot} shows {len(colours)} colours: a blank page"


def _data_found(resolve) -> bool:
    try:
        resolve()
    except FileNotFoundError:
        return False
    return True


def test_tutorials_are_executed_unless_over_budget_or_without_their_data(site):
    """Every notebook page shows its outputs, but the recovery notebook's (over the build's
    time budget) and a real-data notebook's whose data set is absent; those say why."""
    from valueint.infosampling.data import resolve_trust_sampling
    from valueint.trials.datasets import resolve_cutler2021

    unexecuted = {"04_recovery_and_comparison"}
    if not _data_found(resolve_cutler2021):
        unexecuted.add("02_prosocial_learning_lifespan")
    if not _data_found(resolve_trust_sampling):
        unexecuted.add("05_trust_sampling_adolescence")
    pages = sorted((site / "tutorials").glob("[0-9][0-9]_*.html"))
    assert len(pages) == len(list((REPO_ROOT / "analysis").glob("[0-9][0-9]_*.py")))
    for page in pages:
        html = page.read_text(encoding="utf-8")
        outputs = html.count('class="cell_output')
        if page.stem in unexecuted:
            assert outputs == 0 and "shown without its outputs" in html, page.name
        else:
            assert outputs > 0 and "executed when the site was built" in html, page.name
            assert "Traceback" not in html, page.name
