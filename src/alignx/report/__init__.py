"""`alignx report`: a TOML spec of models × benchmarks × persona types in, the paper's Table 3 out.

`spec` parses and validates the spec into cells, `command` scores them through `Evaluator` (resuming cell by
cell), and `table` builds the table with the paired test of each row against the baseline row (alignx.eval.stats).
"""

from alignx.report.command import ReportConfig, run_report
from alignx.report.spec import Cell, ReportSpec, SpecError, load_spec
from alignx.report.table import build_table

__all__ = ["Cell", "ReportConfig", "ReportSpec", "SpecError", "build_table", "load_spec", "run_report"]
