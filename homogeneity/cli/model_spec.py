"""The model a ``homogeneity degree`` report is about, built from command-line options.

Encoders are built exactly as the rows of the degree table
(:func:`homogeneity.experiments.degree_table.encoder_config` and the same seeds), so the
report for a configuration that appears in the table repeats that row.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from homogeneity import components as C
from homogeneity.cli.errors import UsageError
from homogeneity.experiments.degree_table import (
    RESOLVABLE_EPS,
    DegreeCase,
    component_cases,
    encoder_config,
)

DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32}


def component_names() -> list[str]:
    """The names accepted by ``--component`` (the component rows of the degree table)."""
    return [case.name for case in component_cases()]


@dataclass(frozen=True)
class EncoderSpec:
    """An encoder (optionally with a classifier head, SPEC C1) and its random input."""

    layers: int = 2
    placement: str = "paper-prenorm"
    norm: str = "proof"
    eps: float | None = None
    bias: bool = False
    heads: int = 2
    d_head: int | None = None
    d_model: int = 8
    d_ff: int = 16
    vocab: int = 20
    activation: str = "relu"
    causal: bool = False
    classes: int = 0
    batch: int = 2
    seq_len: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        if self.norm == "proof" and self.eps is not None:
            raise UsageError(
                "--eps does not apply to --norm proof (the layer norm of the "
                "proofs, SPEC D9, has no ε); use --norm layernorm or rmsnorm"
            )

    @property
    def norm_eps(self) -> float | None:
        """ε of the norms: None for D9; the table's resolvable ε unless --eps is given."""
        if self.norm == "proof":
            return None
        return RESOLVABLE_EPS if self.eps is None else self.eps

    def config(self) -> C.EncoderConfig:
        return encoder_config(
            self.layers,
            self.placement,
            self.bias,
            self.norm,
            d_model=self.d_model,
            n_heads=self.heads,
            d_head=self.d_head,
            d_ff=self.d_ff,
            vocab_size=self.vocab,
            activation=self.activation,
            causal=self.causal,
            norm_eps=self.norm_eps,
            max_len=max(16, self.seq_len),
        )

    def describe(self) -> str:
        eps = "" if self.norm_eps is None else f" ε={self.norm_eps:g}"
        head = f" + linear classifier ({self.classes} classes)" if self.classes else ""
        width = "" if self.d_head is None else f" of width {self.d_head}"
        return (
            f"encoder{head}: {self.layers} layer(s), {self.placement}, norm "
            f"{self.norm}{eps}, {'with' if self.bias else 'no'} biases, d_model "
            f"{self.d_model}, {self.heads} head(s){width}, d_ff {self.d_ff}, "
            f"{self.activation}{', causal' if self.causal else ''}, vocabulary {self.vocab}"
        )

    def case(self, dtype: torch.dtype) -> DegreeCase:
        cfg = self.config()

        def build() -> nn.Module:
            g = torch.Generator().manual_seed(self.seed)
            if self.classes:
                return C.EncoderClassifier(cfg, self.classes, dtype=dtype, generator=g)
            return C.Encoder(cfg, dtype=dtype, generator=g)

        def inputs() -> tuple:
            g = torch.Generator().manual_seed(self.seed + 1)
            return (torch.randint(0, cfg.vocab_size, (self.batch, self.seq_len), generator=g),)

        return DegreeCase(self.describe(), build, inputs)


@dataclass(frozen=True)
class ComponentSpec:
    """One component of the degree table, behind a bias-free input map (input degree 1)."""

    name: str
    seed: int = 0

    def case(self, dtype: torch.dtype) -> DegreeCase:
        if dtype != torch.float64:
            raise UsageError("--component rows are built in float64; drop --dtype")
        by_name = {c.name: c for c in component_cases(seed=self.seed)}
        if self.name not in by_name:
            raise UsageError(
                f"--component {self.name!r} is unknown; pick one of: "
                + ", ".join(repr(n) for n in by_name)
            )
        return by_name[self.name]

    def describe(self) -> str:
        return f"component '{self.name}' behind a bias-free linear input map (input degree 1)"
