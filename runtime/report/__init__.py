"""`archc report RUN_DIR`: one self-contained HTML page for a search or training run.

- run_folder: what a run folder holds (`read_run`, `RunFolder`, `ReportError`)
- figures: training curves (matplotlib) and space/subnet drawings (graphviz)
- page: the HTML page (`render_page`, `write_report`)
"""

from archc.runtime.report.page import render_page, write_report
from archc.runtime.report.run_folder import ReportError, RunFolder, read_run

__all__ = ["ReportError", "RunFolder", "read_run", "render_page", "write_report"]
