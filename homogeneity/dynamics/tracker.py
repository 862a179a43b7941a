"""A training tracker for any torch optimizer: norms, steps, alignment, saturation.

Every ``every`` optimizer steps t it records, for each parameter group G (SPEC D6, A1, E1,
E7; δ_t = θ_{t+1} − θ_t is whatever the optimizer did, weight decay and momentum included):

=======================  ===================================================
``norm``                 ‖θ_t‖ over the group
``next_norm``            ‖θ_{t+1}‖
``step_norm``            ‖δ_t‖
``alignment``            cos(θ_t, δ_t) = θ_tᵀδ_t / (‖θ_t‖‖δ_t‖)      (D6)
``direction_similarity`` cos(θ_t, θ_{t+1})                             (E1)
``angular_update``       arccos of the above, in radians (WD equilibria)
``relative_step``        ‖δ_t‖ / (η_t ‖θ_t‖), the ratio A1 says is constant
=======================  ===================================================

and, every ``saturation_every`` steps, the saturation level of D14 at θ_t on fixed probe
inputs (:class:`~homogeneity.dynamics.saturation_probe.SaturationProbe`).

Each record is one JSON object on its own line, written and flushed as soon as it is
measured (``fsync=True`` also forces it to disk), so an interrupted run loses nothing.
NaN and infinities are written as ``null``.

Use it as optimizer hooks (any ``torch.optim.Optimizer``)::

    tracker = NormTracker(model, groups={"all": None, "blocks": ["encoder.layers.*"]},
                          every=10, path="run/dynamics.jsonl")
    tracker.attach(optimizer)      # pre/post step hooks; tracker.detach() removes them
    ... train as usual ...
    tracker.close()

or as a callback around any step function::

    with tracker.step(lr=current_lr):
        my_optimizer_step()

The tracker only reads parameters (under ``torch.no_grad``), never writes them, their
gradients or the optimizer state, and draws no random numbers: a tracked run is bit for
bit the run it would have been untracked (tested).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from homogeneity.dynamics.group_sums import GroupSums
from homogeneity.dynamics.groups import resolve_groups
from homogeneity.dynamics.saturation_probe import SaturationOutput, SaturationProbe
from homogeneity.errors import HomogeneityInputError
from homogeneity.scaling import Patterns, default_output


def _clean(x: Any) -> Any:
    """JSON-safe: non-finite floats become None, containers recursively."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _finite_or_none(x: float | None) -> float | None:
    """x, or None for NaN, ±inf or None (JSON has no NaN)."""
    return x if x is not None and math.isfinite(x) else None


def _positive_int(value: Any, argument: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise HomogeneityInputError(f"{argument}={value!r} must be an integer ≥ 1")
    return value


class NormTracker:
    """Per-group norm, step, alignment and saturation measurements during training.

    Args:
        model: the module being trained.
        groups: ``{name: glob patterns}`` over parameter names; None is one group "all".
        every: record every ``every``-th optimizer step (steps counted from 0).
        dense_until: also record every step t < ``dense_until`` (early dynamics are fast:
            the alignment of E7 rises within the first tens of steps).
        path: JSON-lines file to append records to (its folder is created); None keeps
            records in memory only (``tracker.records``).
        saturation_inputs: probe batch (a tensor or tuple of forward inputs) for D14;
            None disables the saturation level.
        saturation_every: measure saturation every this many steps (a multiple of
            ``every``; default ``every``).
        saturation_scale: c of D14 (1000 in the paper).
        saturation_parameters: glob patterns of the parameters scaled by c (None: all).
        saturation_output: picks the tensor, or list of tensors (layers), to compare.
        saturation_kwargs: keyword inputs of the probe's forward call.
        saturation_mask: bool mask of the probe tokens to average over.
        lr_group: index of the optimizer parameter group whose learning rate is η_t in
            ``relative_step`` (default 0).
        keep_in_memory: also keep records in ``self.records``.
        fsync: force every record to disk (slower; flushing is always done).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        groups: Mapping[str, Patterns] | None = None,
        every: int = 1,
        dense_until: int = 0,
        path: str | os.PathLike | None = None,
        saturation_inputs: Any = None,
        saturation_every: int | None = None,
        saturation_scale: float = 1000.0,
        saturation_parameters: Patterns = None,
        saturation_output: SaturationOutput = default_output,
        saturation_kwargs: Mapping[str, Any] | None = None,
        saturation_mask: torch.Tensor | None = None,
        lr_group: int = 0,
        keep_in_memory: bool = True,
        fsync: bool = False,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise HomogeneityInputError(
                f"model must be a torch.nn.Module, got {type(model).__name__}"
            )
        self.model = model
        self._params = dict(model.named_parameters())
        if not self._params:
            raise HomogeneityInputError("model has no parameters to track")
        self.groups = resolve_groups(list(self._params), groups)
        self.every = _positive_int(every, "every")
        if not isinstance(dense_until, int) or dense_until < 0:
            raise HomogeneityInputError(f"dense_until={dense_until!r} must be an integer ≥ 0")
        self.dense_until = dense_until
        self.saturation_every = _positive_int(
            self.every if saturation_every is None else saturation_every, "saturation_every"
        )
        if self.saturation_every % self.every:
            raise HomogeneityInputError(
                f"saturation_every={self.saturation_every} must be a multiple of every="
                f"{self.every} (saturation is measured on recorded steps)"
            )
        if not isinstance(lr_group, int) or lr_group < 0:
            raise HomogeneityInputError(f"lr_group={lr_group!r} must be an integer ≥ 0")
        self.lr_group = lr_group
        self.probe = (
            None
            if saturation_inputs is None
            else SaturationProbe(
                model,
                saturation_inputs,
                kwargs=saturation_kwargs,
                output=saturation_output,
                parameters=saturation_parameters,
                scale=saturation_scale,
                token_mask=saturation_mask,
            )
        )
        self.path = None if path is None else Path(path)
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")
        self.keep_in_memory = keep_in_memory
        self.fsync = fsync
        self.records: list[dict[str, Any]] = []
        self.step_count = 0
        self._recording = False
        self._lr: float | None = None
        self._handles: list[Any] = []
        self._sums = GroupSums(self._params, self.groups)
        self._group_names = list(self.groups)

    # -- wiring --------------------------------------------------------------------
    def attach(self, optimizer: torch.optim.Optimizer) -> NormTracker:
        """Register step pre/post hooks on ``optimizer`` (any torch.optim.Optimizer)."""
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise HomogeneityInputError(
                f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}; "
                f"for another step function use `with tracker.step(lr=...)`"
            )
        owned = {id(p) for g in optimizer.param_groups for p in g["params"]}
        if not any(id(p) in owned for p in self._params.values()):
            raise HomogeneityInputError(
                "optimizer holds none of the model's parameters; attach the optimizer that "
                "trains this model"
            )
        if not 0 <= self.lr_group < len(optimizer.param_groups):
            raise HomogeneityInputError(
                f"lr_group={self.lr_group} but the optimizer has "
                f"{len(optimizer.param_groups)} parameter group(s)"
            )

        def pre(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            self.before_step(lr=_as_float(opt.param_groups[self.lr_group].get("lr")))

        def post(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            self.after_step()

        self._handles += [
            optimizer.register_step_pre_hook(pre),
            optimizer.register_step_post_hook(post),
        ]
        return self

    def detach(self) -> None:
        """Remove the optimizer hooks."""
        for h in self._handles:
            h.remove()
        self._handles.clear()

    @contextlib.contextmanager
    def step(self, lr: float | None = None) -> Iterator[None]:
        """Callback form: ``with tracker.step(lr=η_t): optimizer_step()``."""
        self.before_step(lr)
        yield
        self.after_step()

    def will_record(self, step: int | None = None) -> bool:
        t = self.step_count if step is None else step
        return t % self.every == 0 or t < self.dense_until

    # -- the two callbacks -----------------------------------------------------------
    def before_step(self, lr: float | None = None) -> None:
        """Call just before the parameters change (snapshots θ_t on recorded steps)."""
        self._lr = lr
        self._recording = self.will_record()
        if self._recording:
            with torch.no_grad():
                self._sums.snapshot()

    def after_step(self) -> None:
        """Call just after the parameters changed; writes the record of step t."""
        t = self.step_count
        self.step_count += 1
        if not self._recording:
            return
        self._recording = False
        with torch.no_grad():
            record = self._measure(t)
        self._emit(record)

    def record_state(self, label: str = "state") -> dict[str, Any]:
        """Record ‖θ‖ per group (and saturation) at the current parameters, with no step:
        use it for the state after the last step."""
        with torch.no_grad():
            squares = self._sums.squares_now()  # float64 sums
            record: dict[str, Any] = {
                "step": self.step_count,
                "kind": label,
                "groups": {
                    g: {"norm": _finite_or_none(math.sqrt(max(v, 0.0)))}
                    for g, v in zip(self._group_names, squares, strict=True)
                },
            }
            if self.probe is not None:
                record["saturation"] = self._saturation(self._sums.current_values())
        self._emit(record)
        return record

    # -- measurement -----------------------------------------------------------------
    def _saturation(self, values: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """D14 at the parameters with ``values`` in place of the tracked ones."""
        assert self.probe is not None  # callers measure only with a probe
        full = {n: p.detach() for n, p in self._params.items()}
        for n, v in values.items():
            full[n] = v.to(full[n].dtype)
        s = self.probe.measure(full)
        out: dict[str, Any] = {"level": s.level, "layers": list(s.layers), "scale": s.scale}
        if s.error:
            out["error"] = s.error
        return _clean(out)

    def _measure(self, t: int) -> dict[str, Any]:
        """The record of step t from θ_t (the snapshot) and the parameters now."""
        # Three sums per group. δ splits into a part along θ̂ (length θᵀδ/‖θ‖) and a part
        # ⊥ θ (length √(‖δ‖² − (θᵀδ/‖θ‖)²)); ‖θ_{t+1}‖, cos(θ_t, θ_{t+1}) and the angle
        # follow from those two lengths without the cancellation of 1 − cos for tiny
        # angles.
        sq, dot, dsq = self._sums.step()
        lr = self._lr
        groups: dict[str, Any] = {}
        for g, name in enumerate(self._group_names):
            n0, dn, d = math.sqrt(max(sq[g], 0.0)), math.sqrt(max(dsq[g], 0.0)), dot[g]
            if n0 > 0:
                along = n0 + d / n0
                perp = math.sqrt(max(dsq[g] - (d / n0) ** 2, 0.0))
                n1 = math.hypot(along, perp)
                angle = math.atan2(perp, along)
                sim = along / n1 if n1 > 0 else None
                align = d / (n0 * dn) if dn > 0 else None
                rel = dn / (lr * n0) if lr else None
            else:
                n1, angle, sim, align, rel = dn, None, None, None, None
            groups[name] = {
                "norm": _finite_or_none(n0),
                "next_norm": _finite_or_none(n1),
                "step_norm": _finite_or_none(dn),
                "alignment": _finite_or_none(align),
                "direction_similarity": _finite_or_none(sim),
                "angular_update": _finite_or_none(angle),
                "relative_step": _finite_or_none(rel),
            }
        out: dict[str, Any] = {"step": t, "kind": "step", "lr": _clean(lr), "groups": groups}
        if self.probe is not None and t % self.saturation_every == 0:
            out["saturation"] = self._saturation(self._sums.snapshot_values())
        return out

    def _emit(self, record: dict[str, Any]) -> None:
        """Keep and/or write a record whose floats are already JSON-safe."""
        if self.keep_in_memory:
            self.records.append(record)
        if self._file is not None:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        """Remove hooks and close the file (records already written stay)."""
        self.detach()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> NormTracker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _as_float(x: Any) -> float | None:
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return float(x.detach())
    return float(x)


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a tracker's JSON-lines file; a torn last line (interrupted write) is skipped."""
    p = Path(path)
    if not p.is_file():
        raise HomogeneityInputError(f"path={str(path)!r} is not a file written by NormTracker")
    records = []
    lines = p.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise HomogeneityInputError(
                f"{path}: line {i + 1} is not JSON; the file is not a tracker log"
            ) from None
    return records


def series(
    records: list[dict[str, Any]], group: str, key: str, kind: str = "step"
) -> tuple[list[int], list[float | None]]:
    """(steps, values) of one quantity of one group from tracker records."""
    steps, values = [], []
    for r in records:
        if r.get("kind", "step") != kind:
            continue
        g = r.get("groups", {}).get(group)
        if g is None:
            raise HomogeneityInputError(
                f"group={group!r} is not in the records; known: {sorted(r.get('groups', {}))}"
            )
        if key not in g:
            raise HomogeneityInputError(f"key={key!r} is not recorded; known: {sorted(g)}")
        steps.append(int(r["step"]))
        values.append(g[key])
    return steps, values
