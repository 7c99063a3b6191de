"""HTML reports of finished runs, built only from the typed artefacts a run leaves behind.

A report never talks to Docker: everything comes from `reports/<run-id>/`
(run.json, verdicts.json, metrics.json through `chaos.artefacts`, the history
through `chaos.history`, experiment.yaml as text), so any run can be re-rendered
later, on another machine. Every figure is quoted under the name docs/metrics.md
gives it, and a page cannot contradict itself: a check is shown held, unknown or
failed only where an SLO judged it, and metrics written under older definitions
are recomputed from the history, never shown.

One module per job:

| module | job |
|---|---|
| `loading` | a run folder read through its models; a file that cannot be read, named with why |
| `wording` | each figure's name and definition, statuses' labels, durations |
| `kit` | the HTML every page is built with (`chaos.compare` builds its pages with it too) |
| `library` | Plotly's script: one copy per reports folder, or inlined in a single-file page |
| `marks`, `charts` | the Plotly figures, each figure of a fault marked where it happened |
| `header`, `recovery_table`, `tables` | the run page's parts |
| `predictions` | each fault's figures against the bands its system's model predicted |
| `staleness`, `visibility` | how stale weak reads were; t-visibility's chart and table |
| `traffic` | protocol traffic per node: its chart and its table (chaos.checks.traffic) |
| `regression` | the run page's section on its night against the baseline (chaos.baseline) |
| `run_page` | the run page, `<run>/index.html` |
| `index` | the runs index, `<reports>/index.html` |
"""

from chaos.report.index import write_index
from chaos.report.kit import badge, html_table, page, plot_div, section, show, status_badge
from chaos.report.recovery_table import RECOVERY_HEADERS
from chaos.report.run_page import write_run_report

__all__ = [
    "RECOVERY_HEADERS",
    "badge",
    "html_table",
    "page",
    "plot_div",
    "section",
    "show",
    "status_badge",
    "write_index",
    "write_run_report",
]
