"""E8 scaled down: an η × λ grid of AdamW runs of the small LM (where does weight decay
stop norm growth, and does the equilibrium theory predict it?)::

    homogeneity weight-decay --steps 600 --out runs/weight_decay

Outputs in ``--out``: ``results.json``, ``grid.png`` (outcome map and λ* line),
``curves.png`` (norm curves of every cell). The modules: :mod:`.compute` (the grid, its
cells, the predictions: :func:`run_weight_decay_grid` → :class:`WeightDecayGrid`),
:mod:`.report` and :mod:`.plots` (table, JSON, figures), :mod:`.command`.
"""

from homogeneity.experiments.e8_weight_decay.compute import (
    WeightDecayGridConfig,
    analyse_grid,
    load_grid,
    outcome,
    reanalyse_grid,
    run_cell,
    run_weight_decay_grid,
)
from homogeneity.experiments.e8_weight_decay.report import format_grid, write_grid_outputs
from homogeneity.experiments.e8_weight_decay.results import WeightDecayGrid

__all__ = [
    "WeightDecayGrid",
    "WeightDecayGridConfig",
    "analyse_grid",
    "format_grid",
    "load_grid",
    "outcome",
    "reanalyse_grid",
    "run_cell",
    "run_weight_decay_grid",
    "write_grid_outputs",
]
