"""An attention head along the ray of a fixed instance: P4* and EU~* for every ρ and c.

Parameters: ``instance`` — the input X₀ (n × d), the weights W^q, W^k, W^v (d_head × d)
of one head (JSON numbers, used exactly as written), ``causal`` — exactly these keys —
and ``constant``, the claim's constant (4 for P4*, 12 for EU~*). The statement names the
instance by the sha256 of its canonical JSON. On the ray θ = ρθ₀ (X included, so X is
exactly 1-homogeneous):
Q = ρ²X₀W^qᵀ, K = ρ²X₀W^kᵀ, V(θ) = ρ²V₀ = ρ²X₀W^vᵀ, scores S(θ) = ρ⁴S₀ with
S₀ = Q₀K₀ᵀ/√d_head, and H(θ)_i = Σ_j softmax(S(θ)_i)_j V(θ)_j over the visible keys j.

The checker recomputes S₀ and V₀ from those numbers in interval arithmetic, certifies for
each query row i the unique maximiser j* of S₀_i and the runner-up (gaps g_j = S₀_{ij*} −
S₀_{ij} > 0, γ₀ = min g_j, α_j = g_j/γ₀ ≥ 1, u_j = V₀_j − V₀_{j*}, k = |V_i| − 1,
V̂ = max_j ‖V₀_j‖). A row with a single visible key has weight 1 at every scale: both
sides are 0 there (no part). Each other row is one part.

With λ = ρ⁴, the weights are p_j = q^{α_j}/Z (j ≠ j*), p_{j*} = 1/Z, q = e^{−λγ₀}, and
Z = 1 + Σ_j q^{α_j} = 1 + qΣ_j a_j, a_j = q^{α_j − 1} ∈ [0, 1]. As ρ ranges over (0, ∞),
q ranges over (0, 1): the growth of the gaps, γ(ρθ₀) = ρ⁴γ₀, is what compactifies the ray.

P4* (``head_ray``): ‖H(cθ)_i/c² − H(θ)_i‖ ≤ C k e^{−λγ₀} ρ² V̂ for all c ≥ 1. At scale c
the row is softmax(c⁴λS₀_i): q becomes qv with v = q^{c⁴−1} ∈ (0, 1], and (qv)^{α_j} =
q a_j b_j with b_j = v^{α_j}. With Z′ = 1 + qΣ a_j b_j and Σ_j Δp_j = 0,

    H(cθ)_i/c² − H(θ)_i = ρ² Σ_{j≠j*} Δp_j u_j,   Δp_j = q a_j (b_j Z − Z′)/(Z Z′),

so the statement is ‖Σ_j a_j(b_jZ − Z′) u_j‖ ≤ C k V̂ Z Z′, squared: the margin
(C k V̂ Z Z′)² − ‖Σ_j a_j (b_j Z − Z′) u_j‖² ≥ 0 on (q, v) ∈ [0, 1]².

EU~* (``head_euler_ray``): ‖(θ·∇H)_i − 2H_i‖ ≤ C k φ(λγ₀) ρ² V̂ with φ(γ) = γe^{−γ}
(γ ≥ 1), e^{−1} (γ < 1). θ·∇H = d/dc H(cθ)|_{c=1} = 2H + 4 Σ_j p_j (S_j − S̄) V_j
row-wise (S̄ = Σ p_j S_j), and S_j − S̄ = λ(ḡ − g_j) with ḡ = Σ_l p_l g_l = qΣ a_l g_l/Z,
so (θ·∇H)_i − 2H_i = 4ρ² λ (q/Z) Σ_{j≠j*} a_j (ḡ − g_j) u_j. Two sufficient conditions:

* ``phi_exp`` (everywhere, since φ(γ) ≥ γe^{−γ} = λγ₀q):
  ((C/4) k γ₀ V̂ Z)² − ‖Σ_j a_j (ḡ − g_j) u_j‖² ≥ 0;
* ``phi_const`` (where q ≥ e^{−1}, i.e. λγ₀ ≤ 1 and φ = e^{−1}; λq = −q ln q/γ₀):
  ((C/4) k V̂ Z e^{−1})² − ((−q ln q/γ₀)‖Σ_j a_j (ḡ − g_j) u_j‖)² ≥ 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flint import arb, fmpq

from proofs_numeric.certificates.intervals import Interval, power01
from proofs_numeric.certificates.theorems.base import (
    Box,
    CertificateRejected,
    Form,
    Prepared,
    Theorem,
    digest,
    exact_number,
    rational,
    rational_text,
)

Vector = list[Interval]
INSTANCE_KEYS = frozenset({"x", "query", "key", "value", "causal"})


def _matrix(x: Any, what: str) -> list[list[int | float]]:
    """The matrix exactly as the file writes it (ints are not rounded through float)."""
    ok = isinstance(x, list) and x and all(isinstance(r, list) and r for r in x)
    if not ok or len({len(r) for r in x}) != 1:
        raise CertificateRejected(f"instance {what} must be a non-empty rectangular matrix")
    return [[exact_number(v, f"instance {what}") for v in r] for r in x]


def _linear(x: Sequence[Sequence[int | float]], w: Sequence[Sequence[int | float]]) -> list[Vector]:
    """rows of X Wᵀ, enclosed."""
    out = []
    for row in x:
        out_row = []
        for w_row in w:
            total = Interval.of(0)
            for a, b in zip(row, w_row, strict=True):
                total = total + Interval.of(a) * Interval.of(b)
            out_row.append(total)
        out.append(out_row)
    return out


def _dot(a: Vector, b: Vector) -> Interval:
    total = Interval.of(0)
    for x, y in zip(a, b, strict=True):
        total = total + x * y
    return total


def _norm_sq(a: Vector) -> Interval:
    total = Interval.of(0)
    for x in a:
        total = total + x.square()
    return total


def instance(parameters: Mapping[str, Any]) -> dict[str, Any]:
    inst = parameters.get("instance")
    if not isinstance(inst, Mapping):
        raise CertificateRejected("parameters.instance is missing")
    x = _matrix(inst.get("x"), "x")
    wq, wk, wv = (_matrix(inst.get(n), n) for n in ("query", "key", "value"))
    d = len(x[0])
    if any(len(w[0]) != d for w in (wq, wk, wv)) or not (len(wq) == len(wk) == len(wv)):
        raise CertificateRejected("instance weights must be d_head × d_model, alike")
    if set(inst) != INSTANCE_KEYS:
        raise CertificateRejected(
            f"instance keys {sorted(inst)} must be exactly {sorted(INSTANCE_KEYS)}"
        )
    causal = inst.get("causal")
    if not isinstance(causal, bool):
        raise CertificateRejected("instance.causal must be true or false")
    return {"x": x, "query": wq, "key": wk, "value": wv, "causal": causal}


def _head_description(parameters: Mapping[str, Any], inst: Mapping[str, Any]) -> str:
    """Which head, which parameters and which ray the statement is about: the instance is
    named by the sha256 of its canonical JSON, and the input X is part of θ (that is what
    makes the scores grow like ρ⁴ and the values like ρ²)."""
    return (
        f"For the head H = softmax(QKᵀ/√d_head)·V, Q = XW^qᵀ, K = XW^kᵀ, V = XW^vᵀ, at "
        f"θ = ρθ₀ with θ₀ = (X₀, W^q, W^k, W^v) the instance of sha256 "
        f"{digest(parameters['instance'])} (n = {len(inst['x'])}, d_model = "
        f"{len(inst['x'][0])}, d_head = {len(inst['query'])}, causal = {inst['causal']}; "
        f"the input X is one of the parameters, so it scales with ρ and c)"
    )


def _rows(parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    inst = instance(parameters)
    n = len(inst["x"])
    visible = [(i + 1 if inst["causal"] else n) for i in range(n)]
    return {f"row={i}": {"row": i} for i in range(n) if visible[i] >= 2}


def _constant(parameters: Mapping[str, Any]) -> fmpq:
    c = rational(parameters.get("constant"), "constant")
    if not c > 0:
        raise CertificateRejected("constant must be positive")
    return c


def _prepare_row(parameters: Mapping[str, Any], row: int, variables: tuple[str, ...]) -> Prepared:
    inst = instance(parameters)
    x = inst["x"]
    q0, k0, v0 = (_linear(x, inst[n]) for n in ("query", "key", "value"))
    scale = Interval.of(len(inst["query"])).sqrt()
    n = len(x)
    visible = list(range(row + 1 if inst["causal"] else n))
    scores = {j: _dot(q0[row], k0[j]) / scale for j in visible}
    winners = [j for j in visible if all(scores[j].lo > scores[i].hi for i in visible if i != j)]
    if len(winners) != 1:
        raise CertificateRejected(f"row {row}: the scores have no certified unique maximiser")
    top = winners[0]
    others = [j for j in visible if j != top]
    gaps = {j: scores[top] - scores[j] for j in others}
    runners = [j for j in others if all(gaps[j].hi <= gaps[i].lo for i in others if i != j)]
    if not runners:
        raise CertificateRejected(f"row {row}: the runner-up is not certified (near-tied gaps)")
    runner = runners[0]
    gamma = gaps[runner]
    alphas, excess = {}, {}
    for j in others:
        if j == runner:
            alphas[j], excess[j] = Interval.of(1), Interval.of(0)
        else:
            ratio = gaps[j] / gamma
            alphas[j] = Interval(ratio.lo if ratio.lo >= 1 else arb(1), ratio.hi)
            e = (gaps[j] - gamma) / gamma
            excess[j] = Interval(e.lo if e.lo >= 0 else arb(0), e.hi)
    vmax = _norm_sq(v0[visible[0]])
    for j in visible[1:]:
        vmax = vmax.maximum(_norm_sq(v0[j]))
    vmax = vmax.sqrt()
    us = {j: [a - b for a, b in zip(v0[j], v0[top], strict=True)] for j in others}
    return Prepared(
        variables=variables,
        consts={"C": _constant(parameters), "k": len(others)},
        data={
            "others": others,
            "alpha": alphas,
            "excess": excess,
            "gaps": gaps,
            "gamma": gamma,
            "u": us,
            "vmax": vmax,
        },
    )


def _a_values(prepared: Prepared, q: Interval) -> dict[int, Interval]:
    excess = prepared.data["excess"]
    return {j: power01(q, excess[j].lo, excess[j].hi) for j in prepared.data["others"]}


def _vector_norm_sq(coefficients: Mapping[int, Interval], us: Mapping[int, Vector]) -> Interval:
    dims = len(next(iter(us.values())))
    total = Interval.of(0)
    for c in range(dims):
        comp = Interval.of(0)
        for j, coef in coefficients.items():
            comp = comp + coef * us[j][c]
        total = total + comp.square()
    return total


class _HeadRowsTheorem(Theorem):
    """What P4* and EU~* share: the parameters (instance, constant), the statement's
    opening (which head, which ray), one part per query row with two or more visible keys,
    and a domain [0, 1] for each of the part's ``variables`` (compactified exponentials)."""

    parameter_keys = frozenset({"instance", "constant"})
    variables: tuple[str, ...] = ()

    def bound(self, constant: str) -> str:
        """The statement after the head's description, with the claim's constant C."""
        raise NotImplementedError

    def statement(self, parameters: Mapping[str, Any]) -> str:
        inst = instance(parameters)
        constant = rational_text(_constant(parameters))
        return f"{_head_description(parameters, inst)}: {self.bound(constant)}"

    def required_parts(self, parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        return _rows(parameters)

    def prepare(
        self, parameters: Mapping[str, Any], part: Mapping[str, Any], constants: Mapping[str, Any]
    ) -> Prepared:
        return _prepare_row(parameters, int(part["row"]), self.variables)

    def domain(self, prepared: Prepared) -> list[tuple[fmpq, fmpq]]:
        return [(fmpq(0), fmpq(1))] * len(prepared.variables)


class HeadRay(_HeadRowsTheorem):
    name = "head_ray"
    variables = ("q", "v")
    lemmas = (
        "exact homogeneity on the ray θ = ρθ₀ (X a parameter): S(cθ) = c⁴S(θ), "
        "V(cθ) = c²V(θ), so H(cθ) = c²·softmax(c⁴S(θ))V(θ)",
        "a row with one visible key has weight 1 at every scale (both sides are 0)",
        "Σ_j softmax_j = 1, so Σ_j Δp_j V_j = Σ_{j≠j*} Δp_j (V_j − V_{j*})",
        "compactification: q = e^{−ρ⁴γ₀} and v = q^{c⁴−1} range over (0, 1) and (0, 1] as "
        "ρ > 0 and c ≥ 1 vary; the ends are limits, included in the domain",
    )

    def bound(self, constant: str) -> str:
        return (
            f"for all ρ > 0, c ≥ 1 and every query row i: "
            f"‖H(cθ)_i/c² − H(θ)_i‖₂ ≤ {constant}(|V_i| − |M_i|)/|M_i|·exp(−γ_i(θ))·"
            f"max_j ‖V_j(θ)‖₂ (V_i the visible keys, M_i the maximisers and γ_i the gap of "
            f"score row i)"
        )

    def derived(self, prepared: Prepared, box: Box) -> dict[str, Interval]:
        q, v = Interval(*box[0]), Interval(*box[1])
        out = {"q": q, "v": v}
        for j, a in _a_values(prepared, q).items():
            alpha = prepared.data["alpha"][j]
            out[f"a{j}"] = a
            out[f"b{j}"] = power01(v, alpha.lo, alpha.hi)
        return out

    def forms(self, prepared: Prepared) -> dict[str, Form]:
        data = prepared.data

        def margins(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
            q = vals["q"]
            z, z_c = Interval.of(1), Interval.of(1)
            for j in data["others"]:
                z = z + q * vals[f"a{j}"]
                z_c = z_c + q * vals[f"a{j}"] * vals[f"b{j}"]
            coefficients = {j: vals[f"a{j}"] * (vals[f"b{j}"] * z - z_c) for j in data["others"]}
            budget = consts["C"] * consts["k"] * data["vmax"] * z * z_c
            return [budget.square() - _vector_norm_sq(coefficients, data["u"])]

        return {
            "canonical": Form(
                "canonical", "canonical", margins, "(CkV̂ZZ′)² − ‖Σ a_j(b_jZ − Z′)u_j‖² ≥ 0"
            )
        }


class HeadEulerRay(_HeadRowsTheorem):
    name = "head_euler_ray"
    variables = ("q",)
    lemmas = (
        "exact homogeneity on the ray θ = ρθ₀ (X a parameter): H(cθ) = c²·softmax(c⁴S)V, so "
        "θ·∇H = d/dc H(cθ)|_{c=1} = 2H + 4 Σ_j p_j (S_j − S̄) V_j row-wise",
        "a row with one visible key has weight 1 at every scale (both sides are 0)",
        "Σ_j p_j (S_j − S̄) = 0, so the sum may use V_j − V_{j*}",
        "φ(γ) ≥ γe^{−γ} for every γ ≥ 0, and φ(γ) = e^{−1} for γ ≤ 1",
        "compactification: q = e^{−ρ⁴γ₀} ranges over (0, 1) as ρ > 0 varies; the ends are "
        "limits, included in the domain",
    )

    def bound(self, constant: str) -> str:
        return (
            f"for all ρ > 0 and every query row i: "
            f"‖(θ·∇H)_i − 2H_i‖₂ ≤ {constant}(|V_i| − |M_i|)/|M_i|·φ(γ_i(θ))·max_j ‖V_j(θ)‖₂, "
            f"φ(γ) = γe^(−γ) for γ ≥ 1 and e^(−1) otherwise"
        )

    def derived(self, prepared: Prepared, box: Box) -> dict[str, Interval]:
        q0, q1 = box[0]
        q = Interval(q0, q1)
        out = {"q": q}
        for j, a in _a_values(prepared, q).items():
            out[f"a{j}"] = a
        if q0 >= arb(-1).exp().upper():
            # −q ln q is decreasing on [e^{−1}, 1] (derivative −ln q − 1 ≤ 0 there), so its
            # range on the box is [−q1 ln q1, −q0 ln q0]; on other boxes that would not be
            # an enclosure, and it is not computed there
            out["qlogq"] = Interval((-(q1 * q1.log())).lower(), (-(q0 * q0.log())).upper())
        return out

    def forms(self, prepared: Prepared) -> dict[str, Form]:
        data = prepared.data
        inv_e = Interval.of(arb(-1).exp())

        def weighted(vals: Mapping[str, Any]) -> tuple[Interval, Interval]:
            q = vals["q"]
            z, total = Interval.of(1), Interval.of(0)
            for j in data["others"]:
                z = z + q * vals[f"a{j}"]
                total = total + vals[f"a{j}"] * data["gaps"][j]
            g_bar = q * total / z
            coefficients = {j: vals[f"a{j}"] * (g_bar - data["gaps"][j]) for j in data["others"]}
            return z, _vector_norm_sq(coefficients, data["u"])

        def phi_exp(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
            z, norm_sq = weighted(vals)
            budget = consts["C"] / 4 * consts["k"] * data["gamma"] * data["vmax"] * z
            return [budget.square() - norm_sq]

        def phi_const(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
            z, norm_sq = weighted(vals)
            budget = consts["C"] / 4 * consts["k"] * data["vmax"] * z * inv_e
            lam_q = vals["qlogq"] / data["gamma"]
            return [budget.square() - lam_q.square() * norm_sq]

        def small_scores(box: Box) -> bool:
            return bool(box[0][0] >= inv_e.hi)

        return {
            "phi_exp": Form(
                "phi_exp",
                "canonical",
                phi_exp,
                "φ(γ) ≥ γe^{−γ}: ((C/4)kγ₀V̂Z)² − ‖Σ a_j(ḡ − g_j)u_j‖² ≥ 0",
            ),
            "phi_const": Form(
                "phi_const",
                "relaxation",
                phi_const,
                "φ = e^{−1} where λγ₀ ≤ 1 (q ≥ e^{−1})",
                valid=small_scores,
            ),
        }


RAY = HeadRay()
EULER = HeadEulerRay()
