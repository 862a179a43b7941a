"""``homogeneity curves`` (= ``python -m homogeneity.experiments.homogeneity_curves``):
the E6 curves cos(f(x; cθ), f(x; 1000θ)), c = 1..10, of random-init encoders."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from homogeneity.cli.arguments import (
    check_heads_divide,
    non_negative_int,
    positive_float,
    positive_int,
)
from homogeneity.cli.errors import UsageError, run_command
from homogeneity.cli.parser import OneLineParser, command_parser
from homogeneity.components import PLACEMENTS
from homogeneity.components.norms import NORMS
from homogeneity.experiments.e6_homogeneity_curves.compute import (
    DEFAULT_CS,
    INITS,
    CurveSetup,
    run_curves,
)
from homogeneity.experiments.e6_homogeneity_curves.report import (
    curves_json,
    format_curves,
    plot_curves,
    plot_file_name,
)
from homogeneity.saturation import PAPER_RHO


def build_parser() -> OneLineParser:
    d = CurveSetup()
    p = command_parser(
        "curves",
        "E6: cos(f(x; cθ), f(x; 1000θ)) for c = 1..10 on randomly initialised encoders in "
        "the three residual placements, against the paper's 0.73 → 0.96 (pre-norm) and "
        "0.08 → 0.97 (post-norm), reported for 12-layer models.",
    )
    p.add_argument(
        "--placements",
        nargs="+",
        choices=PLACEMENTS,
        default=list(PLACEMENTS),
        help="residual placements",
    )
    p.add_argument("--layers", type=positive_int, default=d.layers, help="encoder depth")
    p.add_argument("--d-model", type=positive_int, default=d.d_model, help="model width")
    p.add_argument("--heads", type=positive_int, default=d.heads, help="attention heads")
    p.add_argument("--d-ff", type=positive_int, default=d.d_ff, help="feed-forward width")
    p.add_argument("--vocab", type=positive_int, default=d.vocab, help="vocabulary size")
    p.add_argument(
        "--norm",
        choices=NORMS,
        default=d.norm,
        help="layernorm (default, ε=1e-5), rmsnorm (ε=1e-6) or proof (D9, no ε)",
    )
    p.add_argument(
        "--eps",
        type=positive_float,
        default=None,
        help="ε of layernorm/rmsnorm (default: 1e-5 for layernorm, 1e-6 for rmsnorm)",
    )
    p.add_argument(
        "--bias",
        action=argparse.BooleanOptionalAction,
        default=d.bias,
        help="biases in linear maps and norms",
    )
    p.add_argument(
        "--activation", choices=("relu", "gelu"), default=d.activation, help="feed-forward"
    )
    p.add_argument(
        "--causal",
        action=argparse.BooleanOptionalAction,
        default=d.causal,
        help="causal attention mask",
    )
    p.add_argument(
        "--init",
        choices=INITS,
        default=d.init,
        help="torch: PyTorch defaults (default); bert: N(0, 0.02²), zero biases; "
        "components: the package's own",
    )
    p.add_argument("--batch", type=positive_int, default=d.batch, help="input sequences")
    p.add_argument("--seq-len", type=positive_int, default=d.seq_len, help="tokens per sequence")
    p.add_argument("--seed", type=non_negative_int, default=d.seed, help="seed of model and input")
    p.add_argument(
        "--cs",
        type=positive_float,
        nargs="+",
        default=list(DEFAULT_CS),
        help="the scales c (default 1 2 … 10)",
    )
    p.add_argument(
        "--reference",
        type=positive_float,
        default=PAPER_RHO,
        help="the scale of the reference direction (default 1000, as the paper)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--plot",
        metavar="DIR",
        help="write a PNG of the curves into DIR, named after the setup (default: no plot)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: only when stderr is a terminal)",
    )
    return p


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.norm == "proof" and args.eps is not None:
        raise UsageError("--eps does not apply to --norm proof (D9 has no ε)")
    check_heads_divide(args.d_model, args.heads)
    setup = CurveSetup(
        args.layers,
        args.d_model,
        args.heads,
        args.d_ff,
        args.vocab,
        args.norm,
        args.eps,
        args.bias,
        args.activation,
        args.causal,
        args.init,
        args.batch,
        args.seq_len,
        args.seed,
    )
    setup.config(args.placements[0])  # validate before any work
    result = run_curves(setup, args.placements, args.cs, args.reference, args.progress)
    if args.json:
        print(json.dumps(curves_json(result), indent=2))
    else:
        print(format_curves(result))
    if args.plot is not None:
        path = plot_curves(result, Path(args.plot) / plot_file_name(setup))
        print(f"plot: {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``homogeneity curves``: returns the exit status (errors one line on stderr)."""
    return run_command(_run, argv)
