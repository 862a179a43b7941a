"""Tables of E5 on a trained causal LM: the run, its saturation, the modes per regime and
every head's count."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from homogeneity.experiments.e5_head_types.trained_compute import TrainedHeadTypes
from homogeneity.experiments.report_output import write_report_json

#: the JSON a run writes (a list, one object per run)
REPORT_FILE = "e5_trained_report.json"


def _levels(values: Sequence[float | None]) -> str:
    return ", ".join("n/a" if v is None else f"{v:.4f}" for v in values)


def run_summary(run: TrainedHeadTypes) -> str:
    """How the model was trained and whether it reached the target saturation."""
    t = run.config.training
    n0, n1 = run.norms
    reached = (
        f"first reached on the probe at step {run.reached_at}"
        if run.reached_at is not None
        else "never reached on the probe"
    )
    status = (
        "saturated"
        if run.saturated
        else f"NOT saturated: stopped at {run.final_level:.4f} < {run.config.target_saturation}"
    )
    initial = _levels(run.saturation_layers[0]) if run.saturation_layers else "n/a"
    return "\n".join(
        [
            f"Run: corpus {run.corpus} ({run.vocab_size} types); {t.placement}, d_model "
            f"{t.d_model}, {t.n_heads} heads, {t.n_layers} layers, d_ff {t.d_ff}, norm "
            f"{t.norm}, bias {t.bias}, {run.n_parameters} parameters",
            f"Training: {t.optimizer}, lr {t.lr:g}, weight decay {t.weight_decay:g}, "
            f"{t.schedule}, {t.steps} steps of {t.batch_size} × {t.seq_len} tokens, "
            f"{t.dtype}, seed {t.seed}; loss {run.first_loss:.3f} → {run.final_loss:.3f}, "
            f"valid {run.valid[-1][1]:.3f}; ‖θ‖ {n0:.2f} → {n1:.2f} (×{n1 / n0:.3f}); "
            f"{run.train_seconds:.0f} s training, {run.seconds:.0f} s in all",
            f"D14 per layer (blocks, logits; ρ = {run.config.rho:g}, float64): at step 0 on "
            f"the probe [{initial}]; after training on {run.n_sequences} windows "
            f"[{_levels(run.final_levels)}]; smallest {run.final_level:.4f} vs target "
            f"{run.config.target_saturation} ({reached}): {status}",
        ]
    )


def modes_table(run: TrainedHeadTypes) -> str:
    """Heads per mode of the histogram, per regime."""
    lines = [
        "regime            | heads | argmax mode | between | mean mode | of which near-uniform "
        "| mean visible | histogram",
    ]
    for regime, m in run.modes.items():
        lines.append(
            f"{regime:<17} | {m.n_heads:>5} | {m.argmax:>11} | {m.between:>7} | {m.mean:>9} | "
            f"{m.uniform_mean:>21} | {m.mean_visible:>12.1f} | {m.verdict}"
        )
    return "\n".join(lines)


def heads_table(run: TrainedHeadTypes) -> str:
    """Every head: attended keys (and TV to uniform) per regime."""
    regimes = list(run.heads)
    lines = [
        "head | "
        + " | ".join(f"{r:>17}" for r in regimes)
        + " | TV to uniform as trained | kind as trained",
    ]
    for i, first in enumerate(run.heads[regimes[0]]):
        counts = " | ".join(f"{run.heads[r][i].attended:>17.2f}" for r in regimes)
        lines.append(
            f"{first.layer}.{first.head:<2} | {counts} | {first.tv_to_uniform:>24.3f} | "
            f"{first.kind}"
        )
    return "\n".join(lines)


def format_trained(run: TrainedHeadTypes) -> str:
    return "\n\n".join([run_summary(run), modes_table(run), heads_table(run)])


def write_report(runs: Sequence[TrainedHeadTypes], out: Path) -> Path:
    """``e5_trained_report.json``: one object per run (:meth:`TrainedHeadTypes.to_dict`)."""
    return write_report_json(out / REPORT_FILE, [r.to_dict() for r in runs])
