"""The study page opened in headless Chromium: no console error, every chart drawn, the claims
table on the first screen, its links leading to the runs; screenshots kept (see
test_report_browser.py for the set-up)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_report_browser import (  # the same Chromium, marks and helpers
    EVERY_CHART_DRAWN,
    SCREENSHOTS,
    _open,
    browser,  # noqa: F401 (a fixture)
    pytestmark,  # noqa: F401
)
from test_study_page import recorded_study

from chaos.report import write_run_report


@pytest.mark.parametrize("single_file", [False, True])
def test_study_page_draws_every_chart_and_leads_with_the_claims(
    browser: Any,  # noqa: F811
    tmp_path: Path,
    single_file: bool,
) -> None:
    from chaos.study import write_report
    from chaos.study.model import load_study

    study, reports = recorded_study(tmp_path)
    for run_json in reports.glob("*/run.json"):
        write_run_report(run_json.parent)
    page_path, _ = write_report(
        load_study(study), reports / "study-x", [reports], single_file=single_file
    )
    page, errors = _open(browser, page_path)
    plots = page.locator("div.plot")
    assert plots.count() >= 3
    page.wait_for_function(EVERY_CHART_DRAWN, timeout=15_000)
    table = page.locator("section").first.locator("table")
    assert table.locator("tbody tr").count() == 2
    assert table.bounding_box()["y"] < 900  # on the first screen
    assert errors == []
    if not single_file:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "study-recorded.png")
        page.screenshot(path=SCREENSHOTS / "study-recorded-full.png", full_page=True)
        page.locator("a[href='../serf-agent-kill/index.html']").first.click()
        page.wait_for_selector("div.plot .main-svg")
        assert errors == []
    page.close()
