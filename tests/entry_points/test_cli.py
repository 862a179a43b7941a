"""The ``homogeneity`` command line: reports, JSON, plots, pass-through subcommands and
one-line errors for user mistakes, and the conventions every subcommand follows."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from homogeneity import components as C
from homogeneity.agreement import check_degree
from homogeneity.cli import app, delegate, measurement
from homogeneity.cli.degree_command import table_cases
from homogeneity.experiments import degree_table
from homogeneity.experiments.degree_table import encoder_config
from homogeneity.rules import Degree, DegreeDerivation

SMALL = ["degree", "--layers", "1", "--no-progress"]
ROOT = Path(__file__).resolve().parents[2]


def run(argv, capsys):
    code = app.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("homogeneity: error: ")
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], lines[0]


# -- help -------------------------------------------------------------------------------


def test_top_level_help_lists_every_subcommand(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for name in ["degree", *delegate.DELEGATES]:
        assert f"    {name}" in out


def test_version(capsys):
    from importlib.metadata import version

    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"homogeneity {version('homogeneity')}"


def test_no_subcommand_prints_help_and_fails(capsys):
    code, out, _ = run([], capsys)
    assert code == 2 and "COMMAND" in out


def test_degree_help_documents_options_and_examples(capsys):
    code, out, _ = run(["degree", "--help"], capsys)
    assert code == 0
    for option in [
        "--layers",
        "--placement",
        "--norm",
        "--bias",
        "--heads",
        "--d-model",
        "--table",
        "--json",
        "--plot",
        "--parameters",
        "examples:",
    ]:
        assert option in out


# -- degree: one model --------------------------------------------------------------------


def test_degree_report_paper_prenorm_is_approximately_one_homogeneous(capsys):
    code, out, _ = run(SMALL, capsys)
    assert code == 0, out
    assert "predicted degree: ∼1 (approximate)" in out
    assert "degree 1, approximate" in out
    assert "layers.0.attention.norm" in out  # the derivation, step by step
    assert out.rstrip().endswith("prediction and measurement AGREE")


def test_degree_summary_omits_the_derivation(capsys):
    code, out, _ = run(SMALL + ["--summary"], capsys)
    assert code == 0 and "layers.0.attention.norm" not in out


def test_degree_json_matches_check_degree_on_the_same_model(capsys):
    code, out, _ = run(SMALL + ["--placement", "postnorm", "--bias", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    cfg = encoder_config(1, "postnorm", True, "proof")
    model = C.Encoder(cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(0, cfg.vocab_size, (2, 6), generator=torch.Generator().manual_seed(1))
    direct = check_degree(model, (ids,))
    assert report["predicted"]["text"] == str(direct.predicted.degree)
    assert report["measured"]["kind"] == direct.measured.kind == "asymptotic"
    assert report["measured"]["degree"] == direct.measured.value
    assert report["measured"]["decay"]["rate"] == pytest.approx(
        direct.measured.profile.fit.rate, rel=1e-9
    )
    assert report["agree"] is True
    assert len(report["measured"]["profile"]["rhos"]) == 49
    assert report["predicted"]["steps"][-1]["path"] == "<model>"


def test_degree_pre_ln_is_only_asymptotic(capsys):
    code, out, _ = run(SMALL + ["--placement", "pre-ln", "--json"], capsys)
    report = json.loads(out)
    assert code == 0
    assert report["predicted"]["kind"] == "asymptotic" and report["predicted"]["degree"] == 3
    assert report["measured"]["decay"]["kind"] == "polynomial"


def test_degree_plot_writes_a_png(tmp_path, capsys):
    code, out, _ = run(SMALL + ["--plot", str(tmp_path / "figs")], capsys)
    assert code == 0
    pngs = list((tmp_path / "figs").glob("*.png"))
    assert [p.name for p in pngs] == ["degree-encoder-l1-paper-prenorm-proof-nobias.png"]
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(pngs[0]) in out


def test_degree_component_and_parameter_group(capsys):
    code, out, _ = run(
        ["degree", "--component", "linear + bias", "--json", "--no-progress"], capsys
    )
    report = json.loads(out)
    assert code == 0 and report["predicted"]["kind"] == "asymptotic"
    code, out, _ = run(SMALL + ["--parameters", "layers.*", "--json"], capsys)
    report = json.loads(out)
    assert code == 0
    assert all(n.startswith("layers.") for n in report["scaled_parameters"])
    # the embeddings are not scaled: X has degree 0, the residual sum is asymptotic
    assert report["predicted"]["kind"] == "asymptotic"


def test_disagreement_exits_with_status_one(monkeypatch, capsys):
    """Negative control: a wrong prediction must be reported as such, with status 1."""
    real = measurement.predict_degree

    def off_by_one(model, input_degree=0, parameters=None, **kw):
        d = real(model, input_degree, parameters, **kw)
        return DegreeDerivation(Degree.approximate(d.degree.value + 1), d.steps, d.input_degree)

    monkeypatch.setattr(measurement, "predict_degree", off_by_one)
    code, out, _ = run(SMALL + ["--summary"], capsys)
    assert code == 1 and out.rstrip().endswith("DISAGREE")


# -- degree: the table ----------------------------------------------------------------------


def test_table_cases_are_the_rows_of_the_degree_table_module(monkeypatch):
    captured = []

    def fake_table(cases):
        captured.extend(cases)
        return []

    monkeypatch.setattr(degree_table, "degree_table", fake_table)
    monkeypatch.setattr(degree_table, "format_table", lambda rows: "")
    degree_table.main([])
    assert [c.name for c in table_cases()] == [c.name for c in captured]
    assert len(captured) == 97


def test_table_runs_through_the_cli(monkeypatch, capsys):
    few = table_cases()[:2]
    monkeypatch.setattr("homogeneity.cli.degree_command.table_cases", lambda: few)
    code, out, _ = run(["degree", "--table", "--no-progress"], capsys)
    assert code == 0
    assert "2/2 cases: prediction and measurement agree" in out


# -- user mistakes: one line, no traceback, status 2 ---------------------------------------


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["degree", "--layers", "-1"], "--layers: must be ≥ 0"),
        (["degree", "--layers", "two"], "'two' is not an integer"),
        (["degree", "--placement", "sideways"], "invalid choice"),
        (["degree", "--heads", "3"], "--d-model 8 is not divisible by --heads 3"),
        (["degree", "--parameters", "nothing*"], "selects nothing"),
        (["degree", "--eps", "1e-3"], "--eps does not apply to --norm proof"),
        (["degree", "--table", "--layers", "3"], "drop --layers"),
        (["degree", "--table", "--plot", "x"], "drop --table"),
        (["degree", "--component", "no such part"], "is unknown"),
        (["degree", "--component", "relu", "--layers", "2"], "drop --layers"),
        (["degree", "--rho-range", "10", "1"], "MIN must be below MAX"),
        (["degree", "--c", "-2"], "must be a finite number > 0"),
        (["degree", "--frobnicate"], "unrecognized arguments"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_mistakes_give_one_line(argv, fragment, capsys):
    code, _, err = run(argv + ["--no-progress"] if argv[0] == "degree" else argv, capsys)
    assert_one_line_error(code, err, fragment)


def test_plot_into_a_file_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(
        "homogeneity.cli.degree_command.measure_case",
        lambda *a, **k: pytest.fail("measured before checking --plot"),
    )
    code, _, err = run(SMALL + ["--summary", "--plot", str(blocker)], capsys)
    assert_one_line_error(code, err, str(blocker), "not a folder")


# -- pass-through subcommands ----------------------------------------------------------------


@pytest.fixture
def fake_target(monkeypatch):
    """A module ``fake_target`` whose main records its argv and program name."""
    module = types.ModuleType("fake_target")
    calls = []

    def main(argv):
        calls.append((list(argv), sys.argv[0]))
        if argv == ["--exit"]:
            raise SystemExit(4)
        if argv == ["--bad"]:
            from homogeneity.errors import HomogeneityInputError

            raise HomogeneityInputError("bad input named here")
        return 3

    module.main = main
    monkeypatch.setitem(sys.modules, "fake_target", module)
    fake = delegate.Delegate(
        "fake", lambda: module, "fake_target", "a fake", "python -m fake_target"
    )
    monkeypatch.setitem(delegate.DELEGATES, "fake", fake)
    return calls


def test_delegate_passes_arguments_and_status_through(fake_target, capsys):
    argv0 = sys.argv[0]
    code, _, _ = run(["fake", "--json", "-x", "1"], capsys)
    assert code == 3
    assert fake_target == [(["--json", "-x", "1"], "homogeneity fake")]
    assert sys.argv[0] == argv0  # restored
    assert run(["fake", "--exit"], capsys)[0] == 4


def test_delegate_user_mistake_is_one_line(fake_target, capsys):
    code, _, err = run(["fake", "--bad"], capsys)
    assert_one_line_error(code, err, "bad input named here")


def test_missing_delegate_module_is_one_line(monkeypatch, capsys):
    def missing():
        importlib.import_module("homogeneity.experiments.no_such_module")

    gone = delegate.Delegate("gone", missing, "homogeneity.experiments.no_such_module", "x", "y")
    monkeypatch.setitem(delegate.DELEGATES, "gone", gone)
    code, _, err = run(["gone"], capsys)
    assert_one_line_error(
        code, err, "not available in this installation", "homogeneity.experiments.no_such_module"
    )


@pytest.mark.parametrize("name", sorted(delegate.DELEGATES))
def test_every_delegate_target_exists_and_has_help(name, capsys):
    target = delegate.DELEGATES[name]
    try:
        target.load()
    except Exception as exc:  # reported, not hidden: the target has not landed
        pytest.skip(f"{target.module} is not available yet: {exc}")
    code, out, _ = run([name, "--help"], capsys)
    assert code == 0 and "usage:" in out.lower()


# -- the installed entry points ----------------------------------------------------------------


def test_python_dash_m_homogeneity_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "homogeneity", "degree", "--layers", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "homogeneity: error: argument --layers: 'x' is not an integer "
        "(see 'homogeneity degree --help')"
    ]


def test_console_script_is_declared():
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("homogeneity") == "homogeneity.cli:main"


# -- one set of conventions for every subcommand -------------------------------------------


SUBCOMMANDS = ["degree", *delegate.DELEGATES]


def subcommand_parser(name: str) -> argparse.ArgumentParser:
    """The parser of one subcommand: degree's from the top-level parser, the others from
    their modules (the parser each ``python -m`` entry point uses too)."""
    if name == "degree":
        top = app.build_parser()
        (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
        return sub.choices["degree"]
    return delegate.DELEGATES[name].parser()


def parser_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._VersionAction)
    return [a for a in parser._actions if a.option_strings and not isinstance(a, skip)]


def help_line(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """One option's help as ``--help`` prints it."""
    return parser._get_formatter()._expand_help(action) if action.help else ""


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_names_the_homogeneity_command_and_every_default(name):
    parser = subcommand_parser(name)
    assert parser.prog == f"homogeneity {name}"
    assert parser.format_usage().startswith(f"usage: homogeneity {name} ")
    assert "python -m" not in parser.format_usage()
    missing = []
    for action in parser_actions(parser):
        text = help_line(parser, action)
        if not text or not ("default" in text.lower() or "required" in text.lower()):
            missing.append(action.option_strings[-1])
    assert not missing, f"homogeneity {name}: options without help or default: {missing}"


def test_the_help_formatter_shows_defaults():
    """Control for the walk above: the formatter adds what an option's help leaves out."""
    from homogeneity.cli.parser import command_parser

    parser = command_parser("x", "a test")
    parser.add_argument("--n", type=int, default=3, help="a count")
    parser.add_argument("--flag", action="store_true", help="a flag")
    parser.add_argument("--names", nargs="+", default=["a", "b"], help="names")
    parser.add_argument("--given", default=None, help="anything")
    text = parser.format_help()
    assert "a count (default: 3)" in text and "a flag (default: off)" in text
    assert "names (default: a b)" in text
    (given,) = [a for a in parser_actions(parser) if a.dest == "given"]
    assert "default" not in help_line(parser, given)


#: the required options of a subcommand (argparse reports them before unknown ones)
REQUIRED = {"saturation": ["--out", "unused"]}


def test_every_subcommand_reports_mistakes_as_one_prefixed_line(capsys):
    assert {"claims", "degree", "curves", "saturation", "train"} <= set(SUBCOMMANDS)
    for name in SUBCOMMANDS:
        code, out, err = run([name, *REQUIRED.get(name, []), "--no-such-option"], capsys)
        assert_one_line_error(code, err, "unrecognized arguments: --no-such-option")
        assert f"homogeneity {name} --help" in err, err
        assert out == ""


#: every python -m entry point behind a subcommand
ENTRY_POINTS = {
    "claims": "proofs_numeric",
    "train": "homogeneity.experiments.norm_growth",
    "curves": "homogeneity.experiments.homogeneity_curves",
    "saturation": "homogeneity.experiments.pretrained_saturation",
    "weight-decay": "homogeneity.experiments.weight_decay_grid",
}


def test_python_dash_m_entry_points_follow_the_conventions():
    for name, module in sorted(ENTRY_POINTS.items()):
        check_entry_point(name, module)


def check_entry_point(name: str, module: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = subprocess.run(
        [sys.executable, "-m", module, *REQUIRED.get(name, []), "--no-such-option"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert bad.returncode == 2 and bad.stdout == "", (module, bad.stderr)
    assert bad.stderr.strip().splitlines() == [
        f"homogeneity: error: unrecognized arguments: --no-such-option "
        f"(see 'homogeneity {name} --help')"
    ]
    helped = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert helped.returncode == 0 and helped.stdout.startswith(f"usage: homogeneity {name} ")


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "--workers", "0"], "argument --workers: must be ≥ 1, got 0"),
        (["train", "--steps", "0"], "argument --steps: must be ≥ 1, got 0"),
        (["train", "--threads", "0"], "argument --threads: must be ≥ 1, got 0"),
        (["train", "--lr", "-1"], "argument --lr: must be a finite number > 0"),
        (
            ["train", "--weight-decay", "-0.1"],
            "argument --weight-decay: must be a finite number ≥ 0",
        ),
        (["train", "--n-heads", "3"], "--d-model 64 is not divisible by --n-heads 3"),
        (
            ["train", "--track-every", "3"],
            "--track-every 3 must divide --saturation-every 100",
        ),
        (["train", "--corpus", "text"], "--corpus text needs --text-file"),
        (["saturation", "--out", "x", "--sentences", "0"], "argument --sentences: must be ≥ 1"),
        (["saturation", "--out", "x", "--device", "nonsense"], "argument --device: 'nonsense'"),
        (["saturation", "--out", "x", "--batch-size", "0"], "argument --batch-size: must be ≥ 1"),
        (["curves", "--heads", "5"], "--d-model 768 is not divisible by --heads 5"),
        (["curves", "--cs", "0"], "argument --cs: must be a finite number > 0"),
        (["weight-decay", "--workers", "0"], "argument --workers: must be ≥ 1, got 0"),
        (["weight-decay", "--tolerance", "2"], "argument --tolerance: must lie strictly between"),
        (["weight-decay", "--lrs", "0"], "argument --lrs: must be a finite number > 0"),
        (["weight-decay", "--placement", "sideways"], "argument --placement: invalid choice"),
        (["claims", "--digits", "-5"], "argument --digits: must lie in [15, 2000]"),
        (["claims", "--digits", "50"], "--digits sets the precision of --replay"),
    ],
)
def test_out_of_range_values_are_refused_with_the_real_flag(argv, fragment, capsys):
    code, out, err = run(argv, capsys)
    assert_one_line_error(code, err, fragment)
    assert out == ""


def test_device_cuda_without_cuda_is_one_line(capsys):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here: --device cuda is accepted")
    code, _, err = run(["saturation", "--out", "x", "--device", "cuda"], capsys)
    assert_one_line_error(code, err, "argument --device: cuda: CUDA is not available here")
