"""Seeded small encoders for T1, C1, GH and EU: a case is ``{"seed", "cfg", "ids"}`` (plus
the ray point), the weights θ₀ are the package initialisation drawn from the seed in
float64. The paper's setting (bias-free ReLU, paper pre-norm, the LN of D9) is
:func:`paper_config` for the constructions and :func:`paper_configs` for the searches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from hypothesis import strategies as st

from homogeneity.components import ClassifierHead, Encoder, EncoderConfig
from homogeneity.constants import NormKind, Placement
from homogeneity.errors import HomogeneityInputError
from proofs_numeric import case_schema as cs
from proofs_numeric.claims._transformer import score_loss
from proofs_numeric.precision import AttentionTrace, MpEncoder, Weights, classifier, guard_digits
from proofs_numeric.precision.torch_weights import encoder_from_torch, weights_from_module

_CFG_FIELDS = (
    "vocab_size",
    "d_model",
    "n_heads",
    "d_head",
    "d_ff",
    "n_layers",
    "max_len",
    "placement",
    "norm",
    "bias",
    "activation",
)


def config(case: Mapping[str, Any]) -> EncoderConfig:
    return EncoderConfig(**{k: case["cfg"][k] for k in _CFG_FIELDS})


def torch_encoder(case: Mapping[str, Any]) -> Encoder:
    g = torch.Generator().manual_seed(int(case["seed"]))
    return Encoder(config(case), dtype=torch.float64, generator=g)


def mp_encoder(case: Mapping[str, Any]) -> MpEncoder:
    return encoder_from_torch(torch_encoder(case))


def head_weights(case: Mapping[str, Any], bias: bool = False) -> Weights:
    """A classifier head W (n_classes × d_model) from the seed (after the encoder's draws)."""
    g = torch.Generator().manual_seed(int(case["seed"]) + 1)
    head = ClassifierHead(
        int(case["cfg"]["d_model"]),
        int(case.get("n_classes", 2)),
        bias,
        dtype=torch.float64,
        generator=g,
    )
    return weights_from_module(head)


def is_homogeneous_config(cfg: Mapping[str, Any]) -> bool:
    """The paper's T1 setting: bias-free, proof norm (D9), paper pre-norm placement."""
    return (
        cfg["placement"] == Placement.PAPER_PRENORM
        and cfg["norm"] == NormKind.PROOF
        and not cfg["bias"]
    )


def score_digits(enc: MpEncoder, ids: Any, rho: Any, digits: int, *losses: float) -> int:
    """The guard digits of ``digits`` with e^{−spread} resolved for every attention score
    row at the ray point ρ (and any further ``losses``)."""
    trace: list[AttentionTrace] = []
    try:
        enc.at(rho).run(ids, trace=trace, digits=digits)
    except HomogeneityInputError:
        return guard_digits(digits, *losses)
    rows = [r for t in trace for h in t.scores for r in h]
    return guard_digits(digits, score_loss(rows) if rows else 0.0, *losses)


#: The paper's T1 setting (bias-free ReLU encoder with the paper's pre-norm and the LN
#: of D9) at the size of the constructions: d_model 3, one head of dimension 2, d_ff 5,
#: two layers, positions for 3 tokens.
PAPER_CONFIG: dict[str, Any] = {
    "vocab_size": 4,
    "d_model": 3,
    "n_heads": 1,
    "d_head": 2,
    "d_ff": 5,
    "n_layers": 2,
    "max_len": 3,
    "placement": Placement.PAPER_PRENORM.value,
    "norm": NormKind.PROOF.value,
    "bias": False,
    "activation": "relu",
}


def paper_config(**changes: Any) -> dict[str, Any]:
    """:data:`PAPER_CONFIG` with ``changes`` (e.g. ``n_heads=2``)."""
    return {**PAPER_CONFIG, **changes}


def paper_configs(
    d_model: tuple[int, int],
    d_head: tuple[int, int],
    bias: bool = False,
    activation: str = "relu",
    d_ff: tuple[int, int] = (4, 6),
) -> st.SearchStrategy[dict[str, Any]]:
    """Paper-pre-norm encoders with the LN of D9 with d_model, head dimension and d_ff in
    the given ranges, 1–2 heads, 1–2 layers, with or without positions (max_len 0 or 3);
    ``bias`` and ``activation`` fixed (the T1* and GH* searches and their controls)."""
    return st.fixed_dictionaries(
        {
            "vocab_size": st.just(4),
            "d_model": st.integers(*d_model),
            "n_heads": st.integers(1, 2),
            "d_head": st.integers(*d_head),
            "d_ff": st.integers(*d_ff),
            "n_layers": st.integers(1, 2),
            "max_len": st.sampled_from([0, 3]),
            "placement": st.just(Placement.PAPER_PRENORM.value),
            "norm": st.just(NormKind.PROOF.value),
            "bias": st.just(bias),
            "activation": st.just(activation),
        }
    )


def describe_encoder_case(case: Mapping[str, Any]) -> str:
    """One line about an encoder case: its seed, configuration, tokens and ρ."""
    return f"seed {case['seed']}, cfg {case['cfg']}, ids {case['ids']}, ρ = {case['rho']}"


def configs(homogeneous_only: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        if homogeneous_only:
            placement, norm, bias = Placement.PAPER_PRENORM.value, NormKind.PROOF.value, False
        else:
            placement = draw(st.sampled_from([p.value for p in Placement]))
            norm = draw(st.sampled_from([k.value for k in NormKind]))
            bias = draw(st.booleans())
        n_heads = draw(st.integers(1, 2))
        return {
            "vocab_size": 4,
            "d_model": draw(st.integers(2, 4)),
            "n_heads": n_heads,
            "d_head": draw(st.integers(1, 2)),
            "d_ff": draw(st.integers(4, 6)),
            "n_layers": draw(st.integers(1, 2)),
            "max_len": draw(st.sampled_from([0, 3])),
            "placement": placement,
            "norm": norm,
            "bias": bias,
            "activation": draw(st.sampled_from(["relu", "gelu"])),
        }

    return build()


def encoder_schema(max_rho: float, **extra: cs.Schema) -> cs.Schema:
    """Bounds on a replayed encoder case: the configurations of :func:`configs` with a
    little headroom (token ids < 4 ≤ vocab_size, at most 3 of them, max_len 0 or ≥ 3),
    0 < ρ ≤ max_rho, and the ``extra`` fields of the claim."""
    cfg = cs.Record(
        {
            "vocab_size": cs.Integer(4, 8),
            "d_model": cs.Integer(1, 6),
            "n_heads": cs.Integer(1, 3),
            "d_head": cs.Integer(1, 4),
            "d_ff": cs.Integer(1, 8),
            "n_layers": cs.Integer(1, 3),
            "max_len": cs.Choice((0, 3, 4, 5, 6, 7, 8)),
            "placement": cs.Choice(("paper-prenorm", "postnorm", "pre-ln")),
            "norm": cs.Choice(("proof", "layernorm", "rmsnorm")),
            "bias": cs.Boolean(),
            "activation": cs.Choice(("relu", "gelu")),
        }
    )
    return cs.Record(
        {
            "seed": cs.Integer(0, 2**31),
            "cfg": cfg,
            "ids": cs.ListOf(cs.Integer(0, 3), 1, 3),
            "rho": cs.Real(1e-3, max_rho),
            **extra,
        },
        optional={"n_classes": cs.Integer(1, 4)},
    )


def encoder_cases(
    homogeneous_only: bool, rho: st.SearchStrategy[float]
) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**20),
            "cfg": configs(homogeneous_only),
            "ids": st.lists(st.integers(0, 3), min_size=2, max_size=3),
            "rho": rho,
        }
    )


def pooled_logits(enc: MpEncoder, head: Weights, ids: Any, digits: int) -> list[Any]:
    """W · h_0 (+ b): the classifier of C1 on the first token."""
    return classifier(enc, head, ids, pooling="first", digits=digits)
