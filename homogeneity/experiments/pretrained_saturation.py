"""The former home of E3/E5, kept as an alias:

    python -m homogeneity.experiments.pretrained_saturation --out DIR
    homogeneity saturation --out DIR                      (the same command)

E3 lives in :mod:`homogeneity.experiments.e3_pretrained_saturation` (compute, report,
plots, command) and E5 in :mod:`homogeneity.experiments.e5_head_types`.
"""

from __future__ import annotations

from homogeneity.experiments.e3_pretrained_saturation.command import build_parser, main
from homogeneity.experiments.e3_pretrained_saturation.compute import (
    PAPER_BERT_BASE,
    PAPER_E3,
    ModelReport,
    PretrainedSaturationReport,
    run_pretrained_saturation,
)
from homogeneity.experiments.e3_pretrained_saturation.report import (
    DIRECTION_TOL,
    ENTROPY_TOL,
    convergence_table,
    format_report,
    layer_table,
    report_dict,
    write_report,
)

__all__ = [
    "DIRECTION_TOL",
    "ENTROPY_TOL",
    "PAPER_BERT_BASE",
    "PAPER_E3",
    "ModelReport",
    "PretrainedSaturationReport",
    "build_parser",
    "convergence_table",
    "format_report",
    "layer_table",
    "main",
    "report_dict",
    "run_pretrained_saturation",
    "write_report",
]

if __name__ == "__main__":
    raise SystemExit(main())
