"""The certificates this repository stores: what each proves and the prover's settings.

Each entry is a :class:`~proofs_numeric.certificates.prover.Spec`; the file is
``data/<name>.json``. The instance certificates (P1*, P4*, EU~*) take their instances from
the package (the seeded initialisation the sampled claims use), which is why this module,
unlike the checker, may import the rest of the package.
"""

from __future__ import annotations

from typing import Any

from proofs_numeric.certificates.prover import Spec

#: the head instance of P4*[instance] and EU~*[instance]: the package's seeded
#: initialisation (the first construction of the sampled P4*), X a parameter
HEAD_CASE: dict[str, Any] = {
    "seed": 1,
    "n": 3,
    "d_model": 3,
    "n_heads": 1,
    "d_head": 2,
    "causal": False,
}
#: P1*[instance]: scores S′ = (1, 0, 0), a unique maximiser and a tie behind it, so the
#: bound (n − 1)e^{−(c²γ − 2Δ)} is attained as c → ∞ (E = 0)
P1_INSTANCE: dict[str, Any] = {
    "w": [1.0, 0.0],
    "us": [[1.0, 1.0], [0.0, 1.0], [0.0, -1.0]],
    "E_max": "1/8",
    "factor": "1",
}


def head_instance(case: dict[str, Any] = HEAD_CASE) -> dict[str, Any]:
    """X₀, W^q, W^k, W^v of the seeded single-head sublayer (floats), and the mask."""
    from proofs_numeric.claims._transformer import sublayer_weights

    w = sublayer_weights(case, "mha").values
    return {
        "x": w["x"],
        "query": w["sub.query.weight"],
        "key": w["sub.key.weight"],
        "value": w["sub.value.weight"],
        "causal": bool(case["causal"]),
    }


def SPECS() -> dict[str, Spec]:  # noqa: N802 - a constant table, built on demand
    specs = [
        Spec(
            "l6_sigmoid",
            "L6",
            "scalar_saturation",
            {"phi": "sigmoid", "bounds": [["1", "1"]]},
            {"X": "16"},
        ),
        Spec(
            "l8_tanh",
            "L8",
            "scalar_saturation",
            {"phi": "tanh", "bounds": [["1", "1"], ["2", "2"]]},
            {"X": "16"},
        ),
        Spec(
            "l7_star_rows5",
            "L7*[n≤5]",
            "softmax_gap",
            {"rows": 5, "scale": "1", "rate": "1"},
        ),
        Spec(
            "d7_rows5",
            "D7[n≤5]",
            "argmax_limit",
            {"rows": 5, "scale": "1", "rate": "1"},
        ),
        Spec("p1_star_instance", "P1*[instance]", "perturbed_saturation", dict(P1_INSTANCE)),
        Spec(
            "p4_star_instance",
            "P4*[instance]",
            "head_ray",
            {"instance": head_instance(), "constant": "4"},
        ),
        Spec(
            "eu_star_instance",
            "EU~*[instance]",
            "head_euler_ray",
            {"instance": head_instance(), "constant": "12"},
        ),
        Spec(
            "g2_star_exponent",
            "G2*[a≤100]",
            "growth_exponent",
            {"a_max": "100", "factor": "1"},
            {"K": "1", "T0": "8"},
        ),
    ]
    return {s.name: s for s in specs}
