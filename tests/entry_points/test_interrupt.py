"""Ctrl-C stops the commands that run a process pool: queued work is cancelled, the
workers stop, the command exits promptly with status 130 saying so, the JSON-lines logs
written so far are valid, and ``--reanalyse`` analyses a partial run.

The signal is a real SIGINT sent to the process group of a subprocess started in its own
session, as a terminal's Ctrl-C does. The generous timeouts only guard against a hang;
they are not speed targets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY_TRAIN = [
    "--d-model",
    "8",
    "--n-heads",
    "2",
    "--d-ff",
    "16",
    "--seq-len",
    "8",
    "--batch-size",
    "2",
    "--corpus-tokens",
    "2000",
    "--track-every",
    "1",
    "--saturation-every",
    "0",
    "--steps",
    "1000000",
    "--no-progress",
]

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="counts processes through /proc (Linux)"
)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def _terminal_signals() -> None:
    """In the child, before exec: SIGINT at its default and unblocked, as a process a
    terminal starts has it. A child inherits an ignored or blocked SIGINT from the test
    process (some library may have left it so), and then Ctrl-C would never reach it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def signal_state(pid: int) -> str:
    """The SigBlk/SigIgn/SigCgt lines of /proc/PID/status (for a failure message)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "(process gone)"
    return "; ".join(line for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_terminal_signals,
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def lines_of(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def interrupt(proc: subprocess.Popen, timeout: float = 90) -> tuple[int, str, str, float]:
    """SIGINT to the whole group, as Ctrl-C does; (status, stdout, stderr, seconds)."""
    sent = time.monotonic()
    state = signal_state(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"no exit {timeout} s after SIGINT; the child's signals when it was sent: {state}"
        ) from exc
    finally:
        if proc.poll() is None or group_members(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
    return proc.returncode, out, err, time.monotonic() - sent


def assert_complete_json_lines(path: Path) -> int:
    text = path.read_text()
    assert text.endswith("\n"), f"{path} ends in a torn line"
    lines = text.splitlines()
    for line in lines:
        json.loads(line)
    return len(lines)


def test_ctrl_c_stops_train_with_three_placements_on_two_workers(tmp_path) -> None:
    """Three placements, two workers: the third run is queued when Ctrl-C comes. It must
    never start, no process may survive, and the two partial logs must be valid."""
    out = tmp_path / "runs"
    proc = start(["-m", "homogeneity", "train", *TINY_TRAIN, "--workers", "2", "--out", str(out)])
    first, second, third = (
        out / p / "dynamics.jsonl" for p in ("paper-prenorm", "postnorm", "pre-ln")
    )
    try:
        wait_for(lambda: lines_of(first) >= 20 and lines_of(second) >= 20, 240, "two logs")
    except BaseException:
        interrupt(proc, timeout=5)
        raise
    code, _, err, seconds = interrupt(proc)
    assert code == 130, err
    assert "homogeneity: interrupted" in err and "Traceback" not in err, err
    assert "--reanalyse" in err
    assert not group_members(proc.pid), "processes of the run are still alive"
    assert not third.exists(), "the queued placement started after Ctrl-C"
    for log in (first, second):
        assert assert_complete_json_lines(log) >= 20
    assert seconds < 60, f"took {seconds:.0f} s to stop"

    again = subprocess.run(
        [sys.executable, "-m", "homogeneity", "train", "--reanalyse", str(first.parent), "--json"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    (row,) = json.loads(again.stdout)
    assert row["partial_last_step"] >= 19 and row["final_loss"] is None
    results = json.loads((first.parent / "results.json").read_text())
    assert results["partial"] is True and (first.parent / "norm.png").is_file()


def test_ctrl_c_stops_a_single_run_and_keeps_its_log(tmp_path) -> None:
    out = tmp_path / "run"
    proc = start(
        ["-m", "homogeneity", "train", *TINY_TRAIN, "--placement", "postnorm", "--out", str(out)]
    )
    log = out / "dynamics.jsonl"
    try:
        wait_for(lambda: lines_of(log) >= 10, 240, "the log")
    except BaseException:
        interrupt(proc, timeout=5)
        raise
    code, _, err, _ = interrupt(proc)
    assert code == 130 and "homogeneity: interrupted" in err and "Traceback" not in err, err
    assert str(log) in err and f"homogeneity train --reanalyse {out}" in err  # says where
    assert assert_complete_json_lines(log) >= 10
    assert not group_members(proc.pid)


def test_ctrl_c_stops_the_weight_decay_grid(tmp_path) -> None:
    """Three cells on two workers: Ctrl-C once both workers run; everything stops."""
    proc = start(
        [
            "-m",
            "homogeneity.experiments.weight_decay_grid",
            "--lrs",
            "1e-3",
            "--weight-decays",
            "0",
            "0.1",
            "1",
            "--steps",
            "1000000",
            "--workers",
            "2",
            "--no-progress",
            "--out",
            str(tmp_path / "grid"),
        ]
    )
    try:
        wait_for(lambda: len(group_members(proc.pid)) >= 3, 240, "two workers")
        time.sleep(3)  # both are training now
    except BaseException:
        interrupt(proc, timeout=5)
        raise
    code, _, err, seconds = interrupt(proc)
    assert code == 130, err
    assert "homogeneity: interrupted" in err and "Traceback" not in err, err
    assert not group_members(proc.pid)
    assert seconds < 60
