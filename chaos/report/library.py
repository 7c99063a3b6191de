"""Plotly's script, the chart library of every page: one copy per reports folder, or
inlined in a page that must stand alone.

Inlined, it is 4.8 MB per page (53 run pages: 343 MB), so the pages of a reports
folder share `<reports>/assets/plotly.min.js`, loaded by a relative `<script src>`:
still no network, as long as the page stays in its folder. The copy is written
when it is missing or of another Plotly version (the version is in the sidecar
`plotly.min.js.version`); pages written before keep working on the newer copy,
which reads their figures. A page for a ticket or an e-mail inlines it instead
(`write_run_report(run_dir, single_file=True)`).
"""

from __future__ import annotations

import functools
import os
from html import escape
from pathlib import Path

from plotly.offline import get_plotlyjs, get_plotlyjs_version

ASSETS = "assets"
SCRIPT = "plotly.min.js"
STAMP = "plotly.min.js.version"
# The element that carries Plotly's script in a page: with its code inlined, or a `src`.
LIBRARY_TAG = "<script data-library"


@functools.cache
def plotly_js() -> str:
    return get_plotlyjs()


def library_tag(src: str | None) -> str:
    """The element that loads Plotly: from `src`, or with None its code inlined."""
    if src is None:
        return f"{LIBRARY_TAG}>{plotly_js()}</script>"
    return f"{LIBRARY_TAG} src='{escape(src)}'></script>"


@functools.cache
def _plotly_bytes() -> int:
    return len(plotly_js().encode("utf-8"))


def shared_library(reports_dir: Path) -> Path:
    """The folder's copy of Plotly's script, written first if missing or of another version."""
    folder = reports_dir / ASSETS
    script, stamp = folder / SCRIPT, folder / STAMP
    version = get_plotlyjs_version()
    if not _is_current(script, stamp, version):
        folder.mkdir(parents=True, exist_ok=True)
        _replace(script, plotly_js())
        _replace(stamp, f"{version}\n")
    return script


def library_src(page_path: Path, reports_dir: Path) -> str:
    """The `src` by which the page at `page_path` loads the folder's shared copy."""
    script = shared_library(reports_dir)
    return Path(os.path.relpath(script.resolve(), page_path.parent.resolve())).as_posix()


def share_library(page_path: Path, reports_dir: Path) -> bool:
    """Point a page that inlines Plotly (a comparison, which `chaos.compare` writes whole) at
    the folder's shared copy instead; False where it inlines nothing or cannot be read (it is
    left as it is)."""
    try:
        html = page_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    inline = html.find(f"{LIBRARY_TAG}>")
    end = html.find("</script>", inline)
    if inline < 0 or end < 0:
        return False
    end += len("</script>")
    tag = library_tag(library_src(page_path, reports_dir))
    _replace(page_path, html[:inline] + tag + html[end:])
    return True


def _is_current(script: Path, stamp: Path, version: str) -> bool:
    try:
        return (
            stamp.read_text(encoding="utf-8").strip() == version
            and script.stat().st_size == _plotly_bytes()
        )
    except OSError:
        return False


def _replace(path: Path, text: str) -> None:
    """Write `path` whole or not at all: pages written at the same time share the copy."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
