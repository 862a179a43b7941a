"""E3 tables, the printed report (E3 and the E5 heads of the same pass), ``report.json``
and the figures."""

from __future__ import annotations

import math
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from homogeneity.experiments.e3_pretrained_saturation.compute import (
    PAPER_BERT_BASE,
    ModelReport,
    PretrainedSaturationReport,
)
from homogeneity.experiments.e5_head_types.compute import HeadTypes, head_types
from homogeneity.experiments.e5_head_types.report import format_head_types
from homogeneity.experiments.report_output import write_report_json
from homogeneity.saturation import ConvergenceCurves, head_type_counts

#: tolerance on 1 − cos(h(ρθ), h^∞) for "converged"
DIRECTION_TOL = 1e-3
#: tolerance (nats) on the mean attention entropy for "converged"
ENTROPY_TOL = 1e-2


def _f(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:.{digits}f}"


def _rho(x: float | None) -> str:
    return "> grid" if x is None else f"{x:g}"


def e5_result(report: PretrainedSaturationReport) -> HeadTypes | None:
    """E5 of the report's pass (None when the attention was not captured)."""
    return head_types(
        [("pretrained", report.pretrained.analysis), ("random", report.random.analysis)],
        rho=report.rho,
        token_texts=report.token_texts,
    )


def layer_table(report: PretrainedSaturationReport) -> str:
    """E3: per-layer saturation level, ours beside the paper's numbers for the family."""
    p, r = report.pretrained.analysis, report.random.analysis
    paper = report.paper
    paper_name = paper["model"] if paper else "(none for this family)"
    lines = [
        f"E3 saturation level (D14): mean over {report.n_tokens} tokens of "
        f"{report.n_sentences} sentences of cos(h_l(θ), h_l({report.rho:g}·θ)); every "
        f"parameter scaled ({report.scaled_parameters['tensors']} tensors, "
        f"{report.scaled_parameters['entries']:,} entries); float64",
        f"layer | {report.model_label} pretrained ρ=1000 | pretrained ρ=∞ (exact) | random "
        f"ρ=1000 | random ρ=∞ (exact) | random, {len(report.random_seed_levels)} seeds "
        f"(min–max) | paper {paper_name} pretrained | paper random",
    ]
    for layer, (a, b) in enumerate(zip(p.level.layers, r.level.layers, strict=True)):
        la = p.exact.level_at_limit[layer] if p.exact else None
        lb = r.exact.level_at_limit[layer] if r.exact else None
        name = "emb" if layer == 0 else str(layer)
        paper_p = paper["pretrained"] if paper and layer == 1 else ""
        paper_r = paper["random"] if paper and layer == 1 else ""
        spread = [v[layer] for v in report.random_seed_levels.values()]
        span = f"{_f(min(spread))} – {_f(max(spread))}" if spread else "—"
        lines.append(
            f"{name:>5} | {_f(a):>24} | {_f(la):>22} | {_f(b):>13} | {_f(lb):>18} | "
            f"{span:>28} | {paper_p:>26} | {paper_r}"
        )
    return "\n".join(lines)


def convergence_table(report: PretrainedSaturationReport) -> str:
    """Where each layer converges along the ray, and the proxy against the exact form."""
    out = []
    for m in (report.pretrained, report.random):
        c, e = m.convergence, m.analysis.exact
        out.append(
            f"Convergence along the ray, {m.name} (reference: {c.reference if c else 'not run'})"
        )
        out.append(
            "layer | converged at ρ (1−cos ≤ 1e-3) | entropy settled at ρ (±0.01 nat) "
            "| cos(f(1000θ), s(1000θ)) | cos(f(1000θ), limit) | cos(f(1000θ), s(θ)) "
            "| cos(s(θ), limit) | rows with limit argmax at ρ=1000 / 1e4"
        )
        conv = c.converged_at(DIRECTION_TOL) if c else [None] * len(m.analysis.level.layers)
        ent = ([None] + c.entropy_converged_at(ENTROPY_TOL)) if c else [None] * len(conv)
        for layer in range(len(m.analysis.level.layers)):
            name = "emb" if layer == 0 else str(layer)
            settled = ent[layer] if layer < len(ent) else None
            out.append(
                f"{name:>5} | {_rho(conv[layer]) if c else '—':>30} | "
                f"{(_rho(settled) if layer else 'n/a') if c else '—':>34} | "
                f"{_f(e.proxy_vs_saturated_at_rho[layer], 6) if e else '—':>24} | "
                f"{_f(e.proxy_vs_limit[layer], 4) if e else '—':>20} | "
                f"{_f(e.proxy_vs_saturated_at_theta[layer], 4) if e else '—':>19} | "
                f"{_f(e.saturated_at_theta_vs_limit[layer], 4) if e else '—':>16} | "
                f"{_switched(c, report.rho, layer)}"
            )
        if e and e.argmax_agreement:
            out.append(
                "attention layer | proxy argmax on exact support | max |A_f − A_s| at ρ "
                "| rows not yet one-hot at ρ | rows tied in the limit"
            )
            for layer in range(len(e.argmax_agreement)):
                out.append(
                    f"{layer + 1:>15} | {_f(e.argmax_agreement[layer], 4):>29} | "
                    f"{_f(e.max_abs_diff[layer], 4):>20} | {_f(e.unresolved[layer], 4):>25} | "
                    f"{_f(e.tied[layer], 4)}"
                )
        if c and c.breakdown:
            out.append(
                f"sweep stopped at rho={c.breakdown.rho:g} ({c.breakdown.where}): "
                f"{c.breakdown.message}"
            )
        out.append("")
    return "\n".join(out).rstrip()


def _switched(c: ConvergenceCurves | None, rho: float, layer: int) -> str:
    """Fraction of attention rows of ``layer`` already on their limit argmax, at ρ and at
    the largest grid ρ ("n/a" for the embedding or without a sweep)."""
    if c is None or layer == 0 or not c.argmax_to_limit or not c.argmax_to_limit[-1]:
        return "n/a"
    if layer - 1 >= len(c.argmax_to_limit[-1]):
        return "n/a"
    at = [i for i, r in enumerate(c.rhos) if r == rho]
    first = _f(c.argmax_to_limit[at[0]][layer - 1], 4) if at else "—"
    return f"{first} / {_f(c.argmax_to_limit[-1][layer - 1], 4)}"


def format_report(report: PretrainedSaturationReport) -> str:
    """All tables, as printed by the command."""
    parts = [
        layer_table(report),
        convergence_table(report),
        *format_head_types(e5_result(report), report.rule),
        "Timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items()),
    ]
    return "\n\n".join(parts)


# -- JSON ----------------------------------------------------------------------------------
def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, torch.Tensor):
        return _jsonable(x.tolist())
    return x


def report_dict(report: PretrainedSaturationReport) -> dict[str, Any]:
    """The JSON-ready content of the report."""

    def heads(hs: list | None) -> list | None:
        return [asdict(h) for h in hs] if hs is not None else None

    def counts(hs: list | None) -> dict | None:
        return head_type_counts(hs) if hs else None

    def model(m: ModelReport) -> dict[str, Any]:
        a = m.analysis
        c = m.convergence
        return {
            "saturation_level": list(a.level.layers),
            "saturated_comparison": asdict(a.exact) if a.exact else None,
            "heads": {
                "rho_1": heads(a.heads_at_one),
                "rho": heads(a.heads_at_rho),
                "limit": heads(a.heads_at_limit) if a.heads_at_limit else None,
            },
            "head_kinds": {
                "rho_1": counts(a.heads_at_one),
                "rho": counts(a.heads_at_rho),
                "limit": counts(a.heads_at_limit),
            },
            "attention": a.attention,
            "convergence": None
            if c is None
            else {
                **asdict(c),
                "breakdowns": c.breakdowns,
                "converged_at": c.converged_at(DIRECTION_TOL),
                "entropy_converged_at": c.entropy_converged_at(ENTROPY_TOL),
                "direction_tol": DIRECTION_TOL,
                "entropy_tol": ENTROPY_TOL,
            },
            "seconds": m.seconds,
        }

    return _jsonable(
        {
            "experiment": "E3 + E5 + convergence on a pretrained "
            + ("BERT-family encoder" if report.family == "bert" else f"{report.family} checkpoint"),
            "model": report.model_label,
            "family": report.family,
            "backend": report.backend,
            "adapter": report.adapter,
            "model_folder": report.model_folder,
            "config": report.config,
            "text_source": report.text_source,
            "n_sentences": report.n_sentences,
            "n_tokens": report.n_tokens,
            "rho": report.rho,
            "limit_rho": report.limit_rho,
            "dtype": "float64",
            "scaled_parameters": report.scaled_parameters,
            "random_init": report.random_init,
            "paper_bert_base": PAPER_BERT_BASE,
            "paper": report.paper,
            "head_rule": asdict(report.rule),
            "random_seed_levels": report.random_seed_levels,
            "pretrained": model(report.pretrained),
            "random": model(report.random),
            "example": {"text": report.example_text, "tokens": list(report.example_tokens)},
            "token_texts": report.token_texts,
            "timings_s": report.timings,
            "versions": {"torch": torch.__version__, "python": platform.python_version()},
        }
    )


def write_report(report: PretrainedSaturationReport, out: str | Path) -> list[Path]:
    """Write ``report.json`` and the figures (E3's and E5's) into ``out``."""
    from homogeneity.experiments.e3_pretrained_saturation.plots import write_e3_figures
    from homogeneity.experiments.e5_head_types.plots import write_e5_figures

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = write_report_json(out / "report.json", report_dict(report))
    return [path] + write_e3_figures(report, out) + write_e5_figures(report, out)
