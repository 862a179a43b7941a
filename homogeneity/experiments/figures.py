"""Writing the experiments' PNG figures: one resolution for all of them, and pyplot
figures closed once written (pyplot keeps every open figure alive until it is closed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: dots per inch of every PNG the experiments write
FIGURE_DPI = 110


def save_pyplot_figure(fig: Figure, path: Path) -> Path:
    """Write the pyplot figure ``fig`` to ``path`` at :data:`FIGURE_DPI` and close it;
    returns ``path``. (pyplot is imported only when this runs: E3/E5 draw on Agg canvases
    and never load it.)"""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path
