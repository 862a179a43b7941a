"""What the paper reports for E6 (SPEC E6), and for which models.

The paper's curves are for randomly initialised 12-layer models; a run of another depth
is compared with them only with that said (the table says "paper", the figure labels its
markers "paper, 12 layers" and notes the depth of the run).
"""

from __future__ import annotations

#: the paper's numbers (SPEC E6): cosine at c = 1 and at c = 10
PAPER_E6: dict[str, tuple[float, float]] = {"pre-norm": (0.73, 0.96), "post-norm": (0.08, 0.97)}
#: which of the paper's two curves each placement is compared with
PAPER_CURVE_FOR: dict[str, str] = {
    "paper-prenorm": "pre-norm",
    "pre-ln": "pre-norm",
    "postnorm": "post-norm",
}
#: the depth of the paper's models
PAPER_LAYERS = 12
#: the scales at which the paper's numbers are read
PAPER_CS = (1.0, 10.0)
