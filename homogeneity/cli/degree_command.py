"""``homogeneity degree``: predicted against measured degree for one model, or the table.

For one model the report has three parts: the degree the rules predict (SPEC D16) with
every step of the derivation, the degree measured along the ray ρ ↦ f(x; ρθ) with the
decay law of the homogeneity error (exact, exponential = approximate D3, polynomial =
asymptotic, none) and the Euler check θ·∇f = k f, and whether the two agree.
``--table`` prints the full table of :mod:`homogeneity.experiments.degree_table`.

Exit status: 0 when prediction and measurement agree (every row, for ``--table``), 1 when
they do not, 2 for a usage error, 3 when there is no prediction (an op without a degree
rule) or the measurement is undetermined: neither is a disagreement.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

from tqdm import tqdm

from homogeneity.cli.arguments import (
    check_heads_divide,
    non_negative_int,
    positive_float,
    positive_int,
)
from homogeneity.cli.decay_plot import plot_decay_profile
from homogeneity.cli.errors import UsageError
from homogeneity.cli.measurement import Measurement, measure_case, ray_grid
from homogeneity.cli.model_spec import DTYPES, ComponentSpec, EncoderSpec, component_names
from homogeneity.cli.parser import HelpFormatter
from homogeneity.components import PLACEMENTS
from homogeneity.components.norms import NORMS
from homogeneity.experiments import degree_table as table

#: model options and their defaults (None on the parser, so --table can refuse them)
MODEL_DEFAULTS: dict[str, Any] = {
    "layers": 2,
    "placement": "paper-prenorm",
    "norm": "proof",
    "eps": None,
    "bias": False,
    "heads": 2,
    "d_head": None,
    "d_model": 8,
    "d_ff": 16,
    "vocab": 20,
    "activation": "relu",
    "causal": False,
    "classes": 0,
    "batch": 2,
    "seq_len": 6,
    "seed": 0,
    "component": None,
    "parameters": None,
    "c": 2.0,
    "rho_range": None,
    "points": 49,
    "dtype": "float64",
    "plot": None,
    "summary": False,
}

DESCRIPTION = """\
Predicted against measured degree of one model (an encoder built from the package's
components, or one component), or the full table with --table.

The report shows the degree the rules predict (SPEC D16) with every step of the
derivation; the degree measured along the ray rho -> f(x; rho*theta) with the decay law of
the homogeneity error |f(c rho theta) - c^k f(rho theta)| / |c^k f(rho theta)| (exact;
exponential = approximately homogeneous, SPEC D3; polynomial = asymptotic only; none);
the Euler check theta . grad f = k f; and whether prediction and measurement agree.

Exit status: 0 they agree (every row with --table), 1 they do not, 2 usage error,
3 no prediction or an undetermined measurement (neither is a disagreement)."""

EXAMPLES = """\
examples:
  homogeneity degree                                  # 2-layer paper pre-norm encoder (T1)
  homogeneity degree --placement postnorm --bias      # post-norm with biases
  homogeneity degree --norm layernorm --eps 1e-5 --layers 4 --plot figures
  homogeneity degree --classes 3                      # encoder + linear classifier (C1)
  homogeneity degree --component "attention head"     # one component (input of degree 1)
  homogeneity degree --parameters 'layers.*'          # scale only the layers' parameters
  homogeneity degree --table --json                   # the full predicted-vs-measured table
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``homogeneity degree``."""
    p.formatter_class = HelpFormatter
    p.epilog = EXAMPLES
    m = p.add_argument_group("model (an encoder built from homogeneity.components)")
    m.add_argument(
        "--layers", type=non_negative_int, metavar="N", help="encoder depth (default: 2)"
    )
    m.add_argument(
        "--placement",
        choices=PLACEMENTS,
        help="residual placement, SPEC D13 (default: paper-prenorm, X + LN(F(X)))",
    )
    m.add_argument(
        "--norm",
        choices=NORMS,
        help="proof: the ε-free layer norm of D9 (default); layernorm; rmsnorm",
    )
    m.add_argument(
        "--eps",
        type=positive_float,
        help=f"ε of layernorm/rmsnorm (default {table.RESOLVABLE_EPS:g}, large "
        f"enough for float64 to resolve its effect)",
    )
    m.add_argument(
        "--bias",
        action=argparse.BooleanOptionalAction,
        help="biases in every linear map and layer norm (default: --no-bias)",
    )
    m.add_argument("--heads", type=positive_int, metavar="H", help="attention heads (default: 2)")
    m.add_argument(
        "--d-head",
        type=positive_int,
        metavar="W",
        help="width of each head (default d_model / heads)",
    )
    m.add_argument("--d-model", type=positive_int, metavar="D", help="model width (default: 8)")
    m.add_argument(
        "--d-ff", type=positive_int, metavar="F", help="feed-forward width (default: 16)"
    )
    m.add_argument("--vocab", type=positive_int, metavar="V", help="vocabulary size (default: 20)")
    m.add_argument(
        "--activation", choices=("relu", "gelu"), help="feed-forward activation (default: relu)"
    )
    m.add_argument(
        "--causal",
        action=argparse.BooleanOptionalAction,
        help="causal attention mask (default: --no-causal)",
    )
    m.add_argument(
        "--classes",
        type=non_negative_int,
        metavar="K",
        help="add a linear classifier with K classes, SPEC C1 (default 0: none)",
    )
    m.add_argument(
        "--component",
        metavar="NAME",
        help="report on one component of the table instead of an encoder: "
        + ", ".join(repr(n) for n in component_names())
        + " (default: none, an encoder)",
    )
    i = p.add_argument_group("input and ray")
    i.add_argument("--batch", type=positive_int, help="sequences of random token ids (default: 2)")
    i.add_argument("--seq-len", type=positive_int, help="tokens per sequence (default: 6)")
    i.add_argument("--seed", type=non_negative_int, help="seed of weights and input (default: 0)")
    i.add_argument(
        "--parameters",
        nargs="+",
        metavar="GLOB",
        help="scale only the parameters matching these glob patterns, e.g. "
        "'layers.*' (default: all, the paper's choice)",
    )
    i.add_argument(
        "-c",
        "--c",
        type=positive_float,
        dest="c",
        help="scale factor of the homogeneity error f(cρθ) vs c^k f(ρθ) (default: 2)",
    )
    i.add_argument(
        "--rho-range",
        type=positive_float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="ray points ρ from MIN to MAX, geometric (default: 0.1 1e5)",
    )
    i.add_argument("--points", type=positive_int, help="number of ray points (default: 49)")
    i.add_argument("--dtype", choices=tuple(DTYPES), help="working dtype (default: float64)")
    o = p.add_argument_group("output")
    o.add_argument(
        "--table",
        action="store_true",
        help="print the full table: every component and encoders of depth 1–4 in "
        "the three placements, with and without biases, three norms (takes "
        "a few minutes)",
    )
    o.add_argument("--json", action="store_true", help="print JSON instead of text")
    o.add_argument(
        "--plot",
        metavar="DIR",
        help="write a PNG of the homogeneity error along the ray with the fitted "
        "decay law into DIR (created if missing; default: no plot)",
    )
    o.add_argument(
        "--summary",
        action="store_true",
        help="omit the step-by-step derivation of the predicted degree",
    )
    o.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: only when stderr is a terminal)",
    )


#: options that describe the encoder (refused with --component)
ENCODER_OPTIONS = (
    "layers",
    "placement",
    "norm",
    "eps",
    "bias",
    "heads",
    "d_head",
    "d_model",
    "d_ff",
    "vocab",
    "activation",
    "causal",
    "classes",
    "batch",
    "seq_len",
)


def resolved(args: argparse.Namespace) -> dict[str, Any]:
    """The model options with defaults filled in."""
    return {
        k: (d if getattr(args, k) is None else getattr(args, k)) for k, d in MODEL_DEFAULTS.items()
    }


def given_options(args: argparse.Namespace) -> list[str]:
    """Model options the user gave explicitly (attribute names)."""
    return [k for k in MODEL_DEFAULTS if getattr(args, k) is not None]


def as_flags(names: list[str]) -> str:
    return ", ".join("--" + k.replace("_", "-") for k in names)


def run(args: argparse.Namespace) -> int:
    given = given_options(args)
    if args.table:
        if args.plot is not None:
            raise UsageError("--plot draws the profile of one model; drop --table to use it")
        refused = [k for k in given if k not in ("plot", "summary")]
        if refused:
            raise UsageError(
                f"--table prints a fixed grid of models; drop {as_flags(refused)} "
                f"(or run python -m homogeneity.experiments.degree_table "
                f"--help for its own options)"
            )
        return run_table(args.json, args.progress)
    if args.component is not None:
        refused = [k for k in given if k in ENCODER_OPTIONS]
        if refused:
            raise UsageError(f"--component studies a fixed component row; drop {as_flags(refused)}")
    return run_single(resolved(args), args.json, args.progress)


# -- one model -----------------------------------------------------------------------


def build_spec(o: dict[str, Any]) -> EncoderSpec | ComponentSpec:
    if o["component"] is not None:
        return ComponentSpec(o["component"], o["seed"])
    return EncoderSpec(**{k: o[k] for k in (*ENCODER_OPTIONS, "seed")})


def plot_folder(path: str) -> Path:
    """The --plot folder, checked before any work is done (created if missing)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--plot {path}: exists and is not a folder; pass a folder")
    return folder


def run_single(o: dict[str, Any], as_json: bool, progress: bool | None) -> int:
    if o["component"] is None and o["d_head"] is None:
        check_heads_divide(o["d_model"], o["heads"], d_head_flag="--d-head")
    spec = build_spec(o)
    dtype = DTYPES[o["dtype"]]
    rho_min, rho_max = o["rho_range"] or (0.1, 1e5)
    if rho_min >= rho_max:
        raise UsageError(f"--rho-range {rho_min:g} {rho_max:g}: MIN must be below MAX")
    if o["points"] < 3:
        raise UsageError(f"--points {o['points']}: need at least 3 ray points to fit a decay")
    folder = None if o["plot"] is None else plot_folder(o["plot"])
    rhos = ray_grid(rho_min, rho_max, o["points"])
    case = spec.case(dtype)
    result = measure_case(
        case, o["parameters"], c=o["c"], rhos=rhos, dtype=dtype, progress=progress
    )
    plot_path = None
    if folder is not None:
        plot_path = plot_decay_profile(
            result.agreement.measured.profile, folder / plot_file_name(spec), spec.describe()
        )
    if as_json:
        print(json.dumps(single_json(spec, o, result, plot_path), indent=2, allow_nan=False))
    else:
        print(format_single(spec, o, result, plot_path, steps=not o["summary"]))
    return table.exit_status([result.agreement])


def plot_file_name(spec: EncoderSpec | ComponentSpec) -> str:
    """A file name that says which model the plot is of."""
    if isinstance(spec, ComponentSpec):
        stem = "component-" + spec.name
    else:
        stem = (
            f"encoder-L{spec.layers}-{spec.placement}-{spec.norm}-"
            f"{'bias' if spec.bias else 'nobias'}" + (f"-C{spec.classes}" if spec.classes else "")
        )
    return "degree-" + re.sub(r"[^A-Za-z0-9.]+", "-", stem).strip("-").lower() + ".png"


def format_single(
    spec: EncoderSpec | ComponentSpec,
    o: dict[str, Any],
    result: Measurement,
    plot_path: Path | None,
    steps: bool = True,
) -> str:
    a, ray = result.agreement, result.ray
    m, p = a.measured, a.predicted
    prof, fit = m.profile, m.profile.fit
    names = ray.scaled_names
    scope = "all" if o["parameters"] is None else "the"
    lines = [
        f"model: {spec.describe()}",
        f"scaled parameters θ: {scope} {len(names)} tensor(s), ‖θ‖ = {ray.theta_norm():.4g} "
        f"({o['dtype']}, seed {o['seed']})",
        "",
        "predicted (degree rules, SPEC D16):",
    ]
    derivation = str(p).splitlines()
    lines += ["  " + line for line in (derivation if steps else derivation[:2])]
    k = "?" if m.value is None else f"{m.value:g}"
    lines += [
        "",
        f"measured along the ray ρ ↦ f(x; ρθ), c = {prof.c:g}, ρ from {prof.rhos[0]:g} to "
        f"{prof.rhos[-1]:g} ({len(prof.rhos)} points):",
        f"  degree {k}, {m.kind}",
        f"  decay of ‖f(cρθ) − c^k f(ρθ)‖/‖c^k f(ρθ)‖: {fit}",
    ]
    d3 = prof.d3_rate()
    if d3 is not None:
        lines.append(f"  in ‖θ‖ (SPEC D3): error ≈ A·exp(−{d3:.3g}·‖ρθ‖^{fit.exponent:.2f})")
    lines.append(
        f"  Euler at ρ = 1: k̂ = {m.euler.degree_estimate:.6g}, "
        f"‖θ·∇f − k f‖/‖f‖ = {m.euler.residual:.2e}"
    )
    if plot_path is not None:
        lines.append(f"  plot: {plot_path}")
    verdict = {
        "agree": "prediction and measurement AGREE",
        "disagree": "prediction and measurement DISAGREE",
        "no prediction": f"NO PREDICTION: {a.reason}",
        "undetermined": f"UNDETERMINED: {a.reason}",
    }[a.outcome]
    lines += ["", verdict]
    return "\n".join(lines)


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def single_json(
    spec: EncoderSpec | ComponentSpec,
    o: dict[str, Any],
    result: Measurement,
    plot_path: Path | None,
) -> dict[str, Any]:
    a, ray = result.agreement, result.ray
    m, p = a.measured, a.predicted
    prof, fit = m.profile, m.profile.fit

    def degree(d: Any) -> dict[str, Any]:
        return {
            "kind": d.kind,
            "degree": d.value,
            "order": d.order,
            "reason": d.reason,
            "text": str(d),
        }

    return {
        "model": spec.describe(),
        "options": {k: v for k, v in o.items() if k not in ("plot", "summary")},
        "scaled_parameters": list(ray.scaled_names),
        "theta_norm": ray.theta_norm(),
        "predicted": {
            **degree(p.degree),
            "outcome": p.outcome,
            "missing_rule": None if p.missing is None else str(p.missing),
            "execution": p.execution,
            "steps": [
                {
                    "path": s.path,
                    "rule": s.rule,
                    "input": str(s.input_degree),
                    "output": str(s.output_degree),
                }
                for s in p.steps
            ],
        },
        "measured": {
            "kind": m.kind,
            "degree": m.value,
            "decay": {
                "kind": fit.kind,
                "rate": fit.rate,
                "exponent": fit.exponent,
                "r2": fit.r2,
                "n_points": fit.n_points,
                "floor": fit.floor,
                "d3_rate": prof.d3_rate(),
                "text": str(fit),
            },
            "euler": {"k_hat": m.euler.degree_estimate, "residual": m.euler.residual},
            "profile": {
                "c": prof.c,
                "degree": prof.degree,
                "rhos": prof.rhos,
                "theta_norms": prof.theta_norms,
                "relative_error": [_finite(e) for e in prof.relative],
                "absolute_error": [_finite(e) for e in prof.absolute],
            },
        },
        "agree": a.agree,
        "outcome": a.outcome,
        "plot": None if plot_path is None else str(plot_path),
    }


# -- the table -----------------------------------------------------------------------


def table_cases() -> list[table.DegreeCase]:
    """Exactly the rows of ``python -m homogeneity.experiments.degree_table``."""
    depths = [1, 2, 3, 4]
    cases = table.component_cases()
    cases += table.encoder_cases(depths, norms=["proof", "layernorm", "rmsnorm"])
    cases += table.encoder_cases(
        depths[:1], biases=(False, True), norms=("proof",), classifier=True
    )
    return cases


def run_table(as_json: bool, progress: bool | None) -> int:
    cases = table_cases()
    bar = tqdm(
        cases, desc="degree table", unit="model", disable=None if progress is None else not progress
    )
    rows = table.degree_table(bar)
    if as_json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
    else:
        print(table.format_table(rows))
    return table.exit_status(r.agreement for r in rows)
