"""The E3/E5 report command on MiniLM, on a few sentences (the full run is the documented
command; its numbers are in docs/experiments/)."""

from __future__ import annotations

import json

import pytest

from homogeneity.experiments.pretrained_saturation import (
    format_report,
    main,
    report_dict,
    run_pretrained_saturation,
    write_report,
)
from homogeneity.pretrained import MINILM_INSTALL_HINT, minilm_folder

pytestmark = [
    pytest.mark.pretrained,
    pytest.mark.skipif(
        minilm_folder() is None, reason=f"weights package not installed: {MINILM_INSTALL_HINT}"
    ),
]


@pytest.fixture(scope="module")
def report():
    return run_pretrained_saturation(
        n_sentences=2, rhos=(1.0, 1000.0), batch_size=2, extra_seeds=(1,)
    )


def test_report_numbers_are_sane(report):
    p, r = report.pretrained.analysis, report.random.analysis
    assert report.scaled_parameters["all"] and report.scaled_parameters["tensors"] == 101
    assert report.scaled_parameters["entries"] == 22_565_376
    for a in (p, r):
        assert len(a.level.layers) == 7
        # the embedding output is layer-normed: scaling only moves it through ε = 1e-12
        assert a.level.layers[0] == pytest.approx(1.0, abs=1e-12)
        assert all(-1 <= x <= 1 for x in a.level.layers)
        assert len(a.heads_at_one) == len(a.heads_at_rho) == len(a.heads_at_limit) == 72
        assert min(a.exact.proxy_vs_saturated_at_rho) > 0.999
    # ρ = 1000 scales attention scores by 10¹²: every head of both models is (nearly) hard
    assert all(h.kind == "argmax-like" for h in p.heads_at_rho + r.heads_at_rho)
    # BERT's N(0, 0.02²) init gives near-uniform attention at ρ = 1: mean heads
    assert sum(h.kind == "mean-like" for h in r.heads_at_one) >= 60
    assert set(report.random_seed_levels) == {0, 1}
    assert report.random_seed_levels[0] == r.level.layers
    assert report.random_seed_levels[1] != r.level.layers
    c = report.pretrained.convergence
    assert c.rhos == (1.0, 1000.0) and not c.breakdowns
    assert c.saturation[-1] == pytest.approx(list(p.level.layers), abs=1e-12)


def test_tables_json_and_figures(report, tmp_path):
    text = format_report(report)
    for header in (
        "E3 saturation level",
        "paper BERT-base",
        "Convergence along the ray",
        "Head types",
        "Per head (pretrained)",
        "Dominant location",
        "one word piece",
        "top key token",
        "Broadcast heads",
    ):
        assert header in text
    assert len([layer for layer in text.splitlines() if layer.startswith(("1.", "6.11"))]) >= 12
    paths = write_report(report, tmp_path)
    names = {p.name for p in paths}
    assert {
        "report.json",
        "e3_saturation_per_layer.png",
        "e5_head_histogram.png",
        "head_patterns.png",
        "head_locations.png",
        "convergence_saturation.png",
        "convergence_entropy.png",
        "head_kinds_vs_rho.png",
    } == names
    for p in paths:
        assert p.stat().st_size > 1000
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["n_sentences"] == 2 and len(data["pretrained"]["heads"]["limit"]) == 72
    assert data["pretrained"]["saturation_level"] == pytest.approx(
        list(report.pretrained.analysis.level.layers)
    )
    assert report_dict(report)["scaled_parameters"]["all"] is True
    assert set(data["random_seed_levels"]) == {"0", "1"}


def test_command_line(tmp_path, capsys):
    assert (
        main(["--out", str(tmp_path), "--sentences", "1", "--no-convergence", "--extra-seeds"]) == 0
    )
    out = capsys.readouterr().out
    assert "E3 saturation level" in out and "wrote" in out
    assert (tmp_path / "report.json").exists()
    assert not (tmp_path / "convergence_saturation.png").exists()


def test_command_line_json_and_progress(tmp_path, capsys):
    """--json prints report.json's content on stdout; --progress draws the stage bar on
    stderr (stdout stays parseable)."""
    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--sentences",
                "1",
                "--no-convergence",
                "--extra-seeds",
                "1",
                "--json",
                "--progress",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data == json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["n_sentences"] == 1 and set(data["random_seed_levels"]) == {"0", "1"}
    assert "E3/E5" in captured.err and "4/4" in captured.err


def test_bad_arguments(tmp_path, capsys):
    """Usage errors are one line on stderr, 'homogeneity: error: …', exit status 2 (no raise)."""
    assert main(["--out", str(tmp_path), "--sentences", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("homogeneity: error:") and "argument --sentences: must be ≥ 1" in err
    assert main(["--out", str(tmp_path), "--weights", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("homogeneity: error:") and "not a folder" in err
