"""Reports opened in headless Chromium: no console errors, every chart drawn, screenshots kept.

Pages load Plotly from their reports folder's copy (assets/plotly.min.js) by a relative
path, as `file://` pages with no network; a single-file page carries it inlined.

Screenshots go to reports/screenshots/ (or $CHAOSLAB_SCREENSHOTS) so a person
or a CI artefact can look at what a report really looks like.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaos.report import write_index, write_run_report

CHROMIUM = Path("/usr/lib/chromium/chromium")
SCREENSHOTS = Path(
    os.environ.get("CHAOSLAB_SCREENSHOTS", Path(__file__).parents[2] / "reports" / "screenshots")
)

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        sync_playwright is None, reason="playwright is not installed (pip install playwright)"
    ),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]

# The synthetic run of the unit tests, so both suites check the same run.
sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_report import build_run, recorded_run  # noqa: E402

EVERY_CHART_DRAWN = (
    "[...document.querySelectorAll('div.plot')].every(d => d._fullLayout"
    " && d.querySelector('.main-svg'))"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _open(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """The page at `path` once loaded, and every console error or uncaught exception on it."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def _library_src(page: Any) -> str | None:
    return page.evaluate("document.querySelector('script[data-library]').getAttribute('src')")


def test_run_report_renders_every_chart_without_errors(browser: Any, tmp_path: Path) -> None:
    report = write_run_report(build_run(tmp_path / "reports"))
    page, errors = _open(browser, report)
    assert _library_src(page) == "../assets/plotly.min.js"  # the folder's copy, no network
    plots = page.locator("div.plot")
    assert plots.count() == 3
    page.wait_for_function(EVERY_CHART_DRAWN, timeout=10_000)
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "run-report.png", full_page=True)
    page.close()


def test_single_file_report_renders_every_chart_on_its_own(browser: Any, tmp_path: Path) -> None:
    report = write_run_report(build_run(tmp_path / "reports"), single_file=True)
    moved = shutil.copy(report, tmp_path / "attached.html")  # away from any reports folder
    page, errors = _open(browser, Path(moved))
    assert _library_src(page) is None
    assert page.locator("div.plot").count() == 3
    page.wait_for_function(EVERY_CHART_DRAWN, timeout=10_000)
    assert errors == []
    page.close()


def test_a_page_whose_shared_copy_is_gone_says_so(browser: Any, tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "reports")
    report = write_run_report(run_dir)
    (run_dir.parent / "assets" / "plotly.min.js").unlink()
    page, errors = _open(browser, report)
    assert page.locator("div.plot").count() == 0
    assert page.locator(".warn", has_text="Chart not drawn: its library").count() == 3
    assert len(errors) == 1 and "ERR_FILE_NOT_FOUND" in errors[0]  # only the missing file
    page.close()


def test_recorded_run_report_draws_its_marks_without_errors(browser: Any, tmp_path: Path) -> None:
    report = write_run_report(recorded_run("redis-master-kill", tmp_path / "reports"))
    page, errors = _open(browser, report)
    assert page.locator("div.plot").count() == 3
    page.wait_for_function(EVERY_CHART_DRAWN, timeout=10_000)
    timeline = page.locator("#plot-timeline")
    for label in ("blackout 1.05 s", "shard s2 unavailable 5.38 s", "detected by n3 +4.36 s"):
        assert timeline.locator(".annotation-text", has_text=label).count() == 1, label
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "recorded-redis-master-kill.png", full_page=True)
    timeline.screenshot(path=SCREENSHOTS / "recorded-redis-master-kill-timeline.png")
    page.close()


def test_index_renders_and_links_the_report(browser: Any, tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "reports")
    write_run_report(run_dir)
    damaged = run_dir.parent / "etcd-20261125T000000-0b0b0b"
    damaged.mkdir()
    (damaged / "run.json").write_text("{", encoding="utf-8")
    page, errors = _open(browser, write_index(run_dir.parent))
    link = page.locator(f"a[href='{run_dir.name}/index.html']")
    assert link.count() == 1
    assert page.locator("tr", has_text=damaged.name).locator(".damaged").count() == 1
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "index.png", full_page=True)
    link.click()
    page.wait_for_selector("div.plot .main-svg")
    assert errors == []
    page.close()


def test_comparison_renders_every_chart_without_errors(browser: Any, tmp_path: Path) -> None:
    from test_compare import build_runs  # the unit tests' synthetic runs, as for build_run

    from chaos.compare import write_comparison
    from chaos.compare.runs import MEASURES

    runs = build_runs(tmp_path / "reports")
    page, errors = _open(browser, write_comparison(runs, tmp_path / "compare"))
    boxes_per_plot = (
        "[...document.querySelectorAll('div.plot')]"
        ".map(d => d.querySelectorAll('.boxlayer .trace').length)"
    )
    page.wait_for_function(f"{boxes_per_plot}.every(n => n > 0)", timeout=10_000)
    # One scenario (leader crash): a box per measure and system, etcd and Redis Cluster.
    assert page.evaluate(boxes_per_plot) == [len(MEASURES) * 2]
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "comparison.png", full_page=True)
    page.close()


def test_comparison_in_the_reports_folder_renders_with_the_shared_copy(
    browser: Any, tmp_path: Path
) -> None:
    from test_compare import build_runs

    from chaos.compare import write_comparison

    reports = tmp_path / "reports"
    comparison = write_comparison(build_runs(reports), reports / "compare-20261124T000000")
    write_index(reports)  # the index points the comparison at the folder's copy
    page, errors = _open(browser, comparison)
    assert _library_src(page) == "../assets/plotly.min.js"
    page.wait_for_function(EVERY_CHART_DRAWN, timeout=10_000)
    assert errors == []
    page.close()
