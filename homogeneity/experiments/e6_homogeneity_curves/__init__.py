"""E6: how close a randomly initialised transformer is to its saturated direction,
cos(f(x; cθ), f(x; 1000θ)) for c = 1..10 (``homogeneity curves``).

The modules: :mod:`.compute` (initialisations, :func:`cosine_curve` for any adapter,
:func:`run_curves` → :class:`HomogeneityCurves`), :mod:`.paper` (the paper's numbers and
the depth they are for), :mod:`.report` (table, JSON, figure), :mod:`.command`.
"""

from homogeneity.experiments.e6_homogeneity_curves.compute import (
    DEFAULT_CS,
    INITS,
    CosineCurve,
    CurveSetup,
    HomogeneityCurves,
    cosine_curve,
    initialise,
    run_curves,
)
from homogeneity.experiments.e6_homogeneity_curves.paper import (
    PAPER_CURVE_FOR,
    PAPER_E6,
    PAPER_LAYERS,
)
from homogeneity.experiments.e6_homogeneity_curves.report import (
    curves_figure,
    curves_json,
    format_curves,
    plot_curves,
    plot_file_name,
)

__all__ = [
    "DEFAULT_CS",
    "INITS",
    "PAPER_CURVE_FOR",
    "PAPER_E6",
    "PAPER_LAYERS",
    "CosineCurve",
    "CurveSetup",
    "HomogeneityCurves",
    "cosine_curve",
    "curves_figure",
    "curves_json",
    "format_curves",
    "initialise",
    "plot_curves",
    "plot_file_name",
    "run_curves",
]
