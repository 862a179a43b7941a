"""The one loop behind every saturation analysis: evaluate one model on fixed batches at
points of the ray ρ ↦ f(x; ρθ) (or of its exact saturated form s), check each evaluation,
and measure it against the model at ρ = 1 and against a reference (the limit).

**Breakdown policy** (the package's one policy): an evaluation breaks down when a hidden
state or an attention weight of a real token is not finite (an overflow or a NaN), or a
real token's hidden vector is exactly zero (its direction is undefined).

* A single point (:meth:`RayWalk.evaluate`; the ρ of E3/E5, ρ = 1, the limit) raises
  :class:`~homogeneity.errors.NumericalBreakdown` with ``rho`` and ``where`` (the layer).
* A sweep (:meth:`RayWalk.sweep`) stops at the first point that breaks down and records
  it as a :class:`Breakdown`; the points before it are kept, none after it is evaluated.

Neither is ever a verdict about the model. Both come from the package's one
implementation of the policy, :mod:`homogeneity.execution.breakdown` (the sweep, the
messages and suggestions, and the :class:`Breakdown` record, which is
:class:`~homogeneity.execution.SweepBreakdown`).

**Measurements at one point** (:class:`PointMeasures`), token-weighted over all batches,
padding excluded: D14 cos(h_l(θ), h_l(ρθ)) per layer, the cosine to the reference per
layer, the mean attention entropy and the argmax agreement with the reference
(:func:`~homogeneity.saturation.attention.on_reference_support`, the one definition) per
attention layer, and optionally the head statistics (D8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from homogeneity.adapters import Batch, ModelAdapter, Trace, adapter_for
from homogeneity.errors import HomogeneityInputError
from homogeneity.execution.breakdown import (
    SweepBreakdown,
    non_finite_breakdown,
    sweep,
    zero_output_breakdown,
)
from homogeneity.saturation.attention import argmax_agreement_counts, mean_entropy_per_layer
from homogeneity.saturation.batching import TokenMean, layer_cosines
from homogeneity.saturation.heads import HeadStatistics, HeadStats, HeadTypeRule
from homogeneity.scaling import Ray
from homogeneity.validation import check_positive_scale

#: where a sweep stopped: ``rho``, ``where`` (the layer or op), ``message`` (= ``reason``)
Breakdown = SweepBreakdown


@dataclass
class PointMeasures:
    """Measurements of one evaluation (see the module docstring); ``heads`` is None when
    not asked for or when the model's attention was not captured."""

    rho: float
    level: tuple[float, ...]
    to_reference: tuple[float, ...] | None
    entropy: tuple[float, ...]
    argmax_to_reference: tuple[float, ...] | None
    heads: list[HeadStats] | None


def find_breakdown(trace: Trace, mask: torch.Tensor) -> tuple[str, bool] | None:
    """(where, is_zero) of the first non-finite (is_zero False) or exactly zero (True)
    output of a real token, else None."""
    for layer, h in enumerate(trace.hidden_states):
        real = h[mask] if h.shape[: mask.dim()] == mask.shape else h
        if not bool(torch.isfinite(real).all()):
            return f"hidden state {layer}", False
        if real.dim() >= 1 and real.numel() and bool((real == 0).all(dim=-1).any()):
            return f"hidden state {layer}", True
    for layer, a in enumerate(trace.attentions):
        rows = a.transpose(1, 2)[mask] if a.dim() == 4 and a.shape[0] == mask.shape[0] else a
        if not bool(torch.isfinite(rows).all()):
            return f"attention of layer {layer + 1}", False
    return None


class RayWalk:
    """Evaluations of one model on fixed batches along the ray (module docstring).

    Args:
        model: an adapter, or a model :func:`~homogeneity.adapters.adapter_for` accepts.
        batches: the batches (each keeps its own padding); one evaluation serves them all.
        special_tokens: name → token id, for where the attended keys lie (head statistics).
        rule: the head classification.
        tie_tol: tie tolerance of the generalised argmax in the saturated form.
        dtype: the working dtype.
    """

    def __init__(
        self,
        model: ModelAdapter | torch.nn.Module,
        batches: Sequence[Batch],
        *,
        special_tokens: Mapping[str, int] | None = None,
        rule: HeadTypeRule | None = None,
        tie_tol: float = 0.0,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        self.adapter = adapter_for(model)
        batches = list(batches)
        if not batches or not all(isinstance(b, Batch) for b in batches):
            raise HomogeneityInputError(
                "batches is empty or not a list of homogeneity.adapters.Batch; pass at least one"
            )
        self.batches = [b.to(self.adapter.device) for b in batches]
        self.masks = [b.padding_mask for b in self.batches]
        self.n_tokens = [int(m.sum()) for m in self.masks]
        self.special_tokens = dict(special_tokens or {})
        self.rule = rule or HeadTypeRule()
        self.tie_tol = tie_tol
        self.dtype = dtype
        self._rays: dict[bool, Ray] = {}

    def _ray(self, saturated: bool) -> Ray:
        """The ray of f (or of s), built once: each call scales θ and returns list[Trace]."""
        if saturated not in self._rays:
            self._rays[saturated] = self.adapter.ray(
                self.batches, saturated=saturated, tie_tol=self.tie_tol, dtype=self.dtype
            )
        return self._rays[saturated]

    def low_precision_note(self) -> str:
        """What the evaluations so far did with ops below the working dtype: the line of
        each ray's :class:`~homogeneity.execution.ExecutionReport` (lifted, or kept with
        the noise floor they cause); "" when the model has none."""
        lines = (ray.execution.low_precision_line() for ray in self._rays.values())
        return "; ".join(dict.fromkeys(line for line in lines if line))

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, rho: float, *, saturated: bool = False, label: str = "") -> list[Trace]:
        """The traces of f(x; ρθ) (s(x; ρθ) if ``saturated``), one per batch; raises
        :class:`NumericalBreakdown` (with ``rho`` and ``where``) if one breaks down."""
        rho = check_positive_scale(rho, "rho")
        ray = self._ray(saturated)
        traces = ray(rho)
        name = label or f"{'s' if saturated else 'f'}(x; {rho:g}·θ)"
        for trace, mask in zip(traces, self.masks, strict=True):
            found = find_breakdown(trace, mask)
            if found is None:
                continue
            where, is_zero = found
            kept = ray.execution.lowest_kept_dtype
            if is_zero:
                raise zero_output_breakdown(
                    rho,
                    f"{where} of {name}",
                    "the direction of a real token's hidden vector",
                    dtype=self.dtype,
                    kept_low_precision=kept,
                )
            raise non_finite_breakdown(
                rho, where, self.dtype, what=f"{where} of {name}", kept_low_precision=kept
            )
        return traces

    def sweep(
        self,
        rhos: Sequence[float],
        base: list[Trace],
        reference: list[Trace] | None,
        *,
        heads: bool = False,
        detail: bool = False,
    ) -> tuple[list[PointMeasures], Breakdown | None]:
        """Measure f at every ρ of ``rhos`` (increasing) until one breaks down (the shared
        :func:`~homogeneity.execution.breakdown.sweep`)."""

        def point(rho: float) -> PointMeasures:
            traces = self.evaluate(rho)
            return self.measure(rho, traces, base, reference, heads=heads, detail=detail)

        result = sweep(rhos, point)
        return list(result.results), result.stop

    # -- measurement ---------------------------------------------------------------------
    def cosines(self, a: list[Trace], b: list[Trace], what: str) -> tuple[float, ...]:
        """Per layer, the token-weighted mean cos(h_a, h_b) over all batches."""
        acc = TokenMean()
        for ta, tb, mask, n in zip(a, b, self.masks, self.n_tokens, strict=True):
            acc.add(layer_cosines(list(ta.hidden_states), list(tb.hidden_states), mask, what), n)
        return acc.means()

    def argmax_agreement(self, a: list[Trace], reference: list[Trace]) -> tuple[float, ...]:
        """Per attention layer, the share of (head, real query) rows of ``a`` whose largest
        weight lies on the support of ``reference``'s row (the one definition)."""
        hits: list[int] = []
        rows: list[int] = []
        for ta, tr, mask in zip(a, reference, self.masks, strict=True):
            counts = argmax_agreement_counts(ta.attentions, tr.attentions, mask)
            if not hits:
                hits, rows = [0] * len(counts), [0] * len(counts)
            for i, (h, n) in enumerate(counts):
                hits[i] += h
                rows[i] += n
        return tuple(h / n for h, n in zip(hits, rows, strict=True))

    def entropy(self, traces: list[Trace]) -> tuple[float, ...]:
        acc = TokenMean()
        for t, mask, n in zip(traces, self.masks, self.n_tokens, strict=True):
            acc.add(mean_entropy_per_layer(t.attentions, mask), n)
        return acc.means() if acc.count else ()

    def head_statistics(self, traces: list[Trace], *, detail: bool) -> list[HeadStats] | None:
        """D8 statistics of every head, or None when the attention was not captured."""
        if not attention_captured(traces):
            return None
        stats = HeadStatistics(self.rule, self.special_tokens, self.adapter.causal, detail)
        for t, batch in zip(traces, self.batches, strict=True):
            stats.add(t.attentions, batch, t.visible)
        return stats.result()

    def measure(
        self,
        rho: float,
        traces: list[Trace],
        base: list[Trace],
        reference: list[Trace] | None,
        *,
        heads: bool = False,
        detail: bool = False,
    ) -> PointMeasures:
        where = f"rho={rho:g}"
        captured = attention_captured(traces)
        return PointMeasures(
            float(rho),
            self.cosines(base, traces, where),
            None if reference is None else self.cosines(traces, reference, f"{where} vs reference"),
            self.entropy(traces) if captured else (),
            None
            if reference is None or not captured or not attention_captured(reference)
            else self.argmax_agreement(traces, reference),
            self.head_statistics(traces, detail=detail) if heads else None,
        )


def attention_captured(traces: Sequence[Trace]) -> bool:
    """True when every trace carries attention maps."""
    return bool(traces) and all(t.attentions for t in traces)


def attention_note(traces: Sequence[Trace]) -> str:
    """How the attention of these traces was obtained, or why there is none."""
    if attention_captured(traces):
        return traces[0].attention_source or "returned by the model"
    why = next((t.attention_source for t in traces if t.attention_source), "")
    return why or "not captured: the adapter's traces carry no attention maps"
