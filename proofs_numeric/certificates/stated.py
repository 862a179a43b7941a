"""What each certified claim states: the checker's own record, independent of the registry.

A certificate names the claim it backs (``claim``). The mathematics the checker verifies
is the statement of the certificate's theorem *for the certificate's parameters*; a file
with a larger constant, a slower rate, shorter rows or another instance is a valid proof
of a weaker statement, and it verifies. So the checker accepts the label only if the
theorem and the parameters are exactly the ones recorded here for that claim id: then
``OK … claim L6 proved`` means L6's statement, not merely "some statement of the theorem
``scalar_saturation``". A certificate naming a claim that is not recorded here is
rejected.

Parameters are compared as canonical JSON (so ``"2/2"`` is not ``"1"``, and ``1`` is not
``1.0``). An instance (``parameters.instance``: the float weights of a seeded head) is
recorded by the sha256 of its canonical JSON; that the instance is the package's seeded
initialisation is checked on the claims' side, where the package may be imported
(``proofs_numeric.claims._certified`` and ``tests/certificates/test_certificates_audit.py``).

Changing what a proved claim states therefore takes three edits that must agree: the claim
module, its specification in :mod:`.specs` (the prover's input) and the record here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proofs_numeric.certificates.theorems.base import CertificateRejected, canonical_json, digest

#: the seeded single-head sublayer of P4*[instance] and EU~*[instance], by the sha256 of
#: the canonical JSON of {x, query, key, value, causal}
HEAD_INSTANCE_SHA256 = "0f824d73d098e9ac3f4a024379c835f796df77f6e941a2a30db949b236f8115a"

#: claim id → (theorem, parameters), an instance replaced by {"sha256": its digest}
STATED: dict[str, tuple[str, dict[str, Any]]] = {
    "L6": ("scalar_saturation", {"phi": "sigmoid", "bounds": [["1", "1"]]}),
    "L8": ("scalar_saturation", {"phi": "tanh", "bounds": [["1", "1"], ["2", "2"]]}),
    "L7*[n≤5]": ("softmax_gap", {"rows": 5, "scale": "1", "rate": "1"}),
    "D7[n≤5]": ("argmax_limit", {"rows": 5, "scale": "1", "rate": "1"}),
    "G2*[a≤100]": ("growth_exponent", {"a_max": "100", "factor": "1"}),
    "P1*[instance]": (
        "perturbed_saturation",
        {
            "w": [1.0, 0.0],
            "us": [[1.0, 1.0], [0.0, 1.0], [0.0, -1.0]],
            "E_max": "1/8",
            "factor": "1",
        },
    ),
    "P4*[instance]": (
        "head_ray",
        {"instance": {"sha256": HEAD_INSTANCE_SHA256}, "constant": "4"},
    ),
    "EU~*[instance]": (
        "head_euler_ray",
        {"instance": {"sha256": HEAD_INSTANCE_SHA256}, "constant": "12"},
    ),
}


def pinned_view(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as :data:`STATED` records them: an instance by its sha256."""
    out = dict(parameters)
    if "instance" in out:
        out["instance"] = {"sha256": digest(out["instance"])}
    return out


def check_claim(claim: Any, theorem: str, parameters: Mapping[str, Any]) -> None:
    """Raise CertificateRejected unless ``claim`` is recorded with exactly this theorem and
    these parameters."""
    if not isinstance(claim, str) or claim not in STATED:
        raise CertificateRejected(
            f"the certificate names claim {claim!r}, which the checker has no statement "
            f"for (known: {', '.join(STATED)})"
        )
    stated_theorem, stated_parameters = STATED[claim]
    if theorem != stated_theorem:
        raise CertificateRejected(
            f"the certificate proves a statement of {theorem!r}, but claim {claim} is one "
            f"of {stated_theorem!r}: a valid proof of another statement, not of {claim}"
        )
    if canonical_json(pinned_view(parameters)) != canonical_json(stated_parameters):
        raise CertificateRejected(
            f"the certificate proves {theorem} with parameters {pinned_view(parameters)}, "
            f"but claim {claim} states {stated_parameters}: a valid proof of another "
            f"statement, not of {claim}"
        )
