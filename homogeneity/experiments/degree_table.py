"""Predicted against measured degree, for every component and for encoder variants.

For each case the degree rules (SPEC D16, applied by the degree engine to the ops the
model runs: :func:`homogeneity.rules.predict_degree`) give a predicted degree and kind,
and :func:`homogeneity.agreement.check_degree` measures the degree along the ray
ρ ↦ f(x; ρθ) (all parameters scaled) and classifies the decay of the homogeneity error:
exact, exponential (approximate, D3), polynomial (asymptotic) or none.

Components are studied with an input of degree 1: a bias-free linear map of fixed data
comes first (as the paper's lemmas assume X ∼1). Encoders take token ids, and the
embedding makes degree 1 (T1).

Run ``python -m homogeneity.experiments.degree_table`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import torch
from torch import nn

from homogeneity import components as C
from homogeneity.agreement import DegreeAgreement, check_degree


@dataclass(frozen=True)
class DegreeCase:
    """A named model with the inputs it is checked on."""

    name: str
    build: Callable[[], nn.Module]
    inputs: Callable[[], tuple]
    paper: str = ""  # what the paper claims for this case, if anything


@dataclass
class DegreeRow:
    case: DegreeCase
    agreement: DegreeAgreement
    seconds: float

    @property
    def agree(self) -> bool:
        return self.agreement.passed

    def to_dict(self) -> dict:
        p, m = self.agreement.predicted.degree, self.agreement.measured
        fit = m.profile.fit
        return {
            "case": self.case.name,
            "paper": self.case.paper,
            "predicted": {"kind": p.kind, "degree": p.value, "order": p.order, "reason": p.reason},
            "measured": {
                "kind": m.kind,
                "degree": m.value,
                "decay": fit.kind,
                "rate": fit.rate,
                "exponent": fit.exponent,
                "r2": fit.r2,
                "euler_k_hat": m.euler.degree_estimate,
                "euler_residual": m.euler.residual,
            },
            "agree": self.agree,
            "outcome": self.agreement.outcome,
            "seconds": self.seconds,
        }


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def component_cases(d: int = 8, seq: int = 5, batch: int = 2, seed: int = 0) -> list[DegreeCase]:
    """Every component behind a bias-free input map W₀x (so its input has degree 1)."""
    dt = torch.float64

    def with_input(part: Callable[[torch.Generator], nn.Module]) -> Callable[[], nn.Module]:
        def build() -> nn.Module:
            g = _seeded(seed)
            return nn.Sequential(C.Linear(d, d, bias=False, dtype=dt, generator=g), part(g))

        return build

    def data() -> tuple:
        return (torch.randn(batch, seq, d, generator=_seeded(seed + 1), dtype=dt),)

    def kw(g: torch.Generator) -> dict[str, Any]:
        return {"dtype": dt, "generator": g}

    def attention(g: torch.Generator) -> nn.Module:
        return C.MultiHeadAttention(d, 2, bias=False, **kw(g))

    def feed_forward(activation: str) -> Callable[[torch.Generator], nn.Module]:
        return lambda g: C.FeedForward(d, 2 * d, activation, False, **kw(g))

    def residual(
        sublayer: Callable[[torch.Generator], nn.Module], placement: str
    ) -> Callable[[torch.Generator], nn.Module]:
        """``sublayer`` with a D9 layer norm (gain) in the residual ``placement``."""
        return lambda g: C.Residual(sublayer(g), C.ProofLayerNorm(d, **kw(g)), placement)

    parts: list[tuple[str, Callable[[torch.Generator], nn.Module], str]] = [
        ("linear", lambda g: C.Linear(d, d, bias=False, **kw(g)), "D16: k → k+1"),
        (
            "linear + bias",
            lambda g: C.Linear(d, d, bias=True, **kw(g)),
            "D16: a bias needs input degree 0",
        ),
        ("relu", lambda g: C.ReLU(), "L2: ∼k"),
        ("gelu", lambda g: C.GeLU(), ""),
        ("sigmoid", lambda g: C.Sigmoid(), "P3: ∼0"),
        ("tanh", lambda g: C.Tanh(), "P3: ∼0"),
        ("layer norm D9 + gain", lambda g: C.ProofLayerNorm(d, **kw(g)), "D16: k → 1"),
        ("layer norm D9, no gain", lambda g: C.ProofLayerNorm(d, gain=False, **kw(g)), "L5: ∼0"),
        ("layer norm ε=1e-5 + gain + bias", lambda g: C.LayerNorm(d, 1e-5, **kw(g)), ""),
        ("RMS norm ε=1e-6 + gain", lambda g: C.RMSNorm(d, 1e-6, **kw(g)), ""),
        ("attention head", lambda g: C.AttentionHead(d, 4, bias=False, **kw(g)), "P4: ∼1"),
        ("attention head + biases", lambda g: C.AttentionHead(d, 4, bias=True, **kw(g)), ""),
        ("multi-head W·H", attention, ""),
        ("feed-forward relu", feed_forward("relu"), ""),
        ("feed-forward gelu", feed_forward("gelu"), ""),
        ("MSA = X + LN(W·H) (D11)", residual(attention, "paper-prenorm"), "P5: ∼1"),
        ("FF = X + LN(FF(X)) (D12)", residual(feed_forward("relu"), "paper-prenorm"), "P6: ∼1"),
        ("post-norm LN(X + W·H)", residual(attention, "postnorm"), ""),
        ("Pre-LN X + W·H(LN X)", residual(attention, "pre-ln"), ""),
    ]
    return [DegreeCase(name, with_input(part), data, paper) for name, part, paper in parts]


RESOLVABLE_EPS = 1e-2


def encoder_config(
    n_layers: int, placement: str, bias: bool, norm: str, **overrides: object
) -> C.EncoderConfig:
    """The small encoder used in the table (and the agreement tests).

    Norms with ε use ε = 1e-2 (:data:`RESOLVABLE_EPS`): the relative error that ε causes
    in a bias-free paper-prenorm encoder is O(ε ρ^-6); with ε = 1e-5 it is already below
    the float64 noise floor (≈2e-13) by the time the softmax error has decayed, so float64
    cannot see it (the arbitrary-precision checks in proofs_numeric can).
    """
    base: dict[str, Any] = dict(
        vocab_size=20,
        d_model=8,
        n_heads=2,
        d_ff=16,
        n_layers=n_layers,
        max_len=16,
        placement=placement,
        norm=norm,
        bias=bias,
        norm_eps=None if norm == "proof" else RESOLVABLE_EPS,
    )
    base.update(overrides)
    return C.EncoderConfig(**base)


def encoder_cases(
    depths: Sequence[int] = (1, 2, 3, 4),
    placements: Sequence[str] = C.PLACEMENTS,
    biases: Sequence[bool] = (False, True),
    norms: Sequence[str] = ("proof",),
    classifier: bool = False,
    seed: int = 0,
) -> list[DegreeCase]:
    """Encoders (optionally with a classifier head, SPEC C1) over a grid of variants."""
    cases = []
    for n, placement, bias, norm in product(depths, placements, biases, norms):
        cfg = encoder_config(n, placement, bias, norm)
        paper = ""
        if placement == "paper-prenorm" and not bias and norm == "proof":
            paper = "C1: ∼2" if classifier else "T1: ∼1"
        norm_label = norm if norm == "proof" else f"{norm} ε={RESOLVABLE_EPS:g}"
        name = (
            f"{'classifier' if classifier else 'encoder'} L={n} {placement:<13} "
            f"{'bias' if bias else 'no-bias':<7} {norm_label}"
        )

        def build(cfg: C.EncoderConfig = cfg) -> nn.Module:
            g = _seeded(seed)
            if classifier:
                return C.EncoderClassifier(cfg, 3, dtype=torch.float64, generator=g)
            return C.Encoder(cfg, dtype=torch.float64, generator=g)

        def ids(cfg: C.EncoderConfig = cfg) -> tuple:
            return (torch.randint(0, cfg.vocab_size, (2, 6), generator=_seeded(seed + 1)),)

        cases.append(DegreeCase(name, build, ids, paper))
    return cases


def degree_table(cases: Iterable[DegreeCase]) -> list[DegreeRow]:
    """Predict and measure every case."""
    rows = []
    for case in cases:
        start = time.perf_counter()
        agreement = check_degree(case.build(), case.inputs())
        rows.append(DegreeRow(case, agreement, time.perf_counter() - start))
    return rows


#: the last column of the table, per agreement outcome
VERDICTS = {
    "agree": "yes",
    "disagree": "NO",
    "no prediction": "no prediction",
    "undetermined": "undetermined",
}


def exit_status(agreements: Iterable[DegreeAgreement]) -> int:
    """1 if any disagrees, else 3 if any has no prediction or an undetermined
    measurement, else 0."""
    outcomes = {a.outcome for a in agreements}
    if "disagree" in outcomes:
        return 1
    return 3 if outcomes - {"agree"} else 0


def format_table(rows: Sequence[DegreeRow]) -> str:
    """A plain-text table: case, paper's claim, predicted, measured, agreement."""
    header = (
        f"{'case':<44} {'paper':<10} {'predicted':<34} {'measured (decay of the error)':<46} agree"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        m = r.agreement.measured
        fit = m.profile.fit
        if fit.kind == "exponential":
            decay = f"exp(−{fit.rate:.2g}·ρ^{fit.exponent:.1f})"
        elif fit.kind == "polynomial":
            decay = f"ρ^−{fit.rate:.2f}"
        else:
            decay = fit.kind
        value = "?" if m.value is None else f"{m.value:g}"
        measured = f"{m.kind} {value}, {decay}"
        lines.append(
            f"{r.case.name:<44} {r.case.paper:<10} "
            f"{str(r.agreement.predicted.degree):<34} {measured:<46} "
            f"{VERDICTS[r.agreement.outcome]}"
        )
    n_agree = sum(r.agree for r in rows)
    lines.append(f"{n_agree}/{len(rows)} cases: prediction and measurement agree")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m homogeneity.experiments.degree_table",
        description="Predicted (degree rules, SPEC D16) against measured degree along the "
        "ray, for every component and for encoders of several depths, residual "
        "placements, with and without biases.",
    )
    p.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4])
    p.add_argument(
        "--norms",
        nargs="+",
        default=["proof", "layernorm", "rmsnorm"],
        choices=["proof", "layernorm", "rmsnorm"],
    )
    p.add_argument("--no-components", action="store_true", help="skip the component rows")
    p.add_argument("--no-classifier", action="store_true", help="skip the C1 classifier rows")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cases: list[DegreeCase] = [] if args.no_components else component_cases()
    cases += encoder_cases(args.depths, norms=args.norms)
    if not args.no_classifier:
        cases += encoder_cases(
            args.depths[:1], biases=(False, True), norms=("proof",), classifier=True
        )
    rows = degree_table(cases)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
    else:
        print(format_table(rows))
    return exit_status(r.agreement for r in rows)


if __name__ == "__main__":
    sys.exit(main())
