"""The statements the checker can certify, by name (one module per statement family)."""

from __future__ import annotations

from proofs_numeric.certificates.theorems import growth, heads, saturation, scalar, softmax
from proofs_numeric.certificates.theorems.base import Theorem

THEOREMS: dict[str, Theorem] = {
    t.name: t
    for t in (
        scalar.THEOREM,
        softmax.GAP,
        softmax.LIMIT,
        saturation.THEOREM,
        heads.RAY,
        heads.EULER,
        growth.THEOREM,
    )
}
