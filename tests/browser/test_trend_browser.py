"""The trend page opened in headless Chromium: every chart drawn, no console errors, the change
and the regression where a person looks for them; a screenshot kept beside the others."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from test_report_browser import EVERY_CHART_DRAWN, SCREENSHOTS, _open, browser, pytestmark

from chaos.baseline.store import Store
from chaos.baseline.trend import write_trend

# The synthetic nights of the unit tests, so both suites check the same page.
sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_baseline import FAST, SLOW, SLOWER, write_night

__all__ = ["browser", "pytestmark"]


def test_trend_page_draws_each_experiment_with_its_change_and_regression(
    browser: Any, tmp_path: Path
) -> None:
    store = Store(tmp_path / "baselines")
    nights = [FAST, [v + 0.03 for v in FAST], SLOW, [v - 0.02 for v in FAST]]
    for night, detects in enumerate(nights, start=1):
        store.save(write_night(tmp_path / f"night-{night}", night, detects))
    store.save(write_night(tmp_path / "night-5", 5, SLOW, settings=SLOWER))
    page, errors = _open(browser, write_trend(store, tmp_path / "reports" / "trend.html"))
    page.wait_for_function(EVERY_CHART_DRAWN, timeout=10_000)
    chart = page.locator("#plot-trend-0")
    change = chart.locator(".annotation-text", has_text="election_timeout_ms 1000 → 3000")
    assert change.count() == 1
    assert page.locator("span.badge.failed", has_text="regression").count() == 1
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "trend-synthetic.png", full_page=True)
    page.close()
