"""E2, E4, E7 scaled down: train the small LM and watch its norm, alignment, saturation.

One command per run (three placements by default, in parallel processes)::

    homogeneity train --steps 3000 --seed 0 --out runs/norm_growth

For each placement it trains :class:`~homogeneity.experiments.lm_model.CausalLM` on the
generated corpus (or ``--corpus text --text-file F``), tracks every parameter group with
:class:`~homogeneity.dynamics.tracker.NormTracker`, and writes into ``<out>/<placement>/``:

``config.json``     the run's configuration (written first);
``dynamics.jsonl``  the tracker records, one per line as they come;
``results.json``    config, losses, fitted growth law with R², alignment, step size,
                    saturation, A1 slope, running time;
``norm.png``, ``alignment.png``, ``saturation.png``.

With several placements, ``<out>/summary.json`` and ``<out>/placements.png`` compare
them. The modules, one job each:

* :mod:`.config`: :class:`NormGrowthConfig` and the model it builds;
* :mod:`.compute`: :func:`run_norm_growth` → :class:`NormGrowthRun`,
  :func:`run_placements` (any ``concurrent.futures.Executor``, or a process pool that
  Ctrl-C stops), :func:`load_run` / :func:`reanalyse` of a finished or interrupted run;
* :mod:`.analysis`: the E2/E4/E7/A1 figures of a tracker log;
* :mod:`.results`: the dataclasses a run returns (``results.json`` is their dict);
* :mod:`.report` and :mod:`.plots`: tables, JSON and figures;
* :mod:`.command`: ``homogeneity train``.
"""

from homogeneity.experiments.e2_e4_e7_norm_growth.compute import (
    analyse,
    load_run,
    reanalyse,
    run_norm_growth,
    run_placements,
)
from homogeneity.experiments.e2_e4_e7_norm_growth.config import (
    MAIN_GROUP,
    NormGrowthConfig,
    build_model,
)
from homogeneity.experiments.e2_e4_e7_norm_growth.report import format_summary, summary_row
from homogeneity.experiments.e2_e4_e7_norm_growth.results import (
    NormGrowthAnalysis,
    NormGrowthRun,
    TrainingInfo,
)

__all__ = [
    "MAIN_GROUP",
    "NormGrowthAnalysis",
    "NormGrowthConfig",
    "NormGrowthRun",
    "TrainingInfo",
    "analyse",
    "build_model",
    "format_summary",
    "load_run",
    "reanalyse",
    "run_norm_growth",
    "run_placements",
    "summary_row",
]
