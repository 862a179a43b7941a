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

from homogeneity.dynamics.groups import cosine, resolve_groups
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
        self._snapshot: dict[str, torch.Tensor] | None = None
        self._lr: float | None = None
        self._handles: list[Any] = []
        self._names = sorted({n for names in self.groups.values() for n in names})
        # Per-record sums are vectorised: all tracked tensors flattened into one float64
        # vector, per-tensor sums over its contiguous slices, per-group sums by a 0/1
        # matrix product.
        self._sizes = [self._params[n].numel() for n in self._names]
        index = {n: i for i, n in enumerate(self._names)}
        self._membership = torch.zeros(len(self.groups), len(self._names), dtype=torch.float64)
        for g, names in enumerate(self.groups.values()):
            for n in names:
                self._membership[g, index[n]] = 1.0

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
    def _flat(self) -> torch.Tensor:
        """The tracked parameters as one new vector (a copy), in their common dtype (float64
        if they differ). Products are formed in that dtype and summed in float64."""
        tensors = [self._params[n].detach().reshape(-1) for n in self._names]
        if len({t.dtype for t in tensors}) > 1:
            tensors = [t.to(torch.float64) for t in tensors]
        return torch.cat(tensors)

    def before_step(self, lr: float | None = None) -> None:
        """Call just before the parameters change (snapshots θ_t on recorded steps)."""
        self._lr = lr
        if self.will_record():
            with torch.no_grad():
                self._snapshot = self._flat()
        else:
            self._snapshot = None

    def after_step(self) -> None:
        """Call just after the parameters changed; writes the record of step t."""
        t = self.step_count
        self.step_count += 1
        if self._snapshot is None:
            return
        with torch.no_grad():
            record = self._measure(t, self._snapshot, self._flat())
        self._snapshot = None
        self._emit(record)

    def record_state(self, label: str = "state") -> dict[str, Any]:
        """Record ‖θ‖ per group (and saturation) at the current parameters, with no step:
        use it for the state after the last step."""
        with torch.no_grad():
            flat = self._flat()
            norms = self._group_sums(flat * flat).sqrt().tolist()  # float64 sums
            record: dict[str, Any] = {
                "step": self.step_count,
                "kind": label,
                "groups": {g: {"norm": v} for g, v in zip(self.groups, norms, strict=True)},
            }
            if self.probe is not None:
                record["saturation"] = self._saturation(flat)
        self._emit(record)
        return record

    # -- measurement -----------------------------------------------------------------
    def _group_sums(self, values: torch.Tensor) -> torch.Tensor:
        """Σ over each group of a per-coordinate quantity (rows of ``values`` or a vector)."""
        stacked = values if values.dim() == 2 else values[None]
        per_tensor = torch.stack(
            [part.sum(1, dtype=torch.float64) for part in torch.split(stacked, self._sizes, 1)],
            dim=1,
        )
        if self._membership.device != per_tensor.device:  # parameters on another device
            self._membership = self._membership.to(per_tensor.device)
        out = per_tensor @ self._membership.T
        return out if values.dim() == 2 else out[0]

    def _unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        out, start = {}, 0
        for n in self._names:
            p = self._params[n]
            out[n] = flat[start : start + p.numel()].reshape(p.shape).to(p.dtype)
            start += p.numel()
        return out

    def _saturation(self, flat: torch.Tensor) -> dict[str, Any]:
        full = {n: p.detach() for n, p in self._params.items()}
        full.update(self._unflatten(flat))
        s = self.probe.measure(full)
        out: dict[str, Any] = {"level": s.level, "layers": list(s.layers), "scale": s.scale}
        if s.error:
            out["error"] = s.error
        return out

    def _measure(self, t: int, before: torch.Tensor, after: torch.Tensor) -> dict[str, Any]:
        delta = after - before
        # Three products. δ splits into a part along θ̂ (length θᵀδ/‖θ‖) and a part ⊥ θ
        # (length √(‖δ‖² − (θᵀδ/‖θ‖)²)); ‖θ_{t+1}‖, cos(θ_t, θ_{t+1}) and the angle follow
        # from those two lengths without the cancellation of 1 − cos for tiny angles.
        sq, dsq, dot = self._group_sums(
            torch.stack([before * before, delta * delta, before * delta])
        ).tolist()
        out: dict[str, Any] = {"step": t, "kind": "step", "lr": self._lr, "groups": {}}
        for g, group in enumerate(self.groups):
            n0, dn = math.sqrt(max(sq[g], 0.0)), math.sqrt(max(dsq[g], 0.0))
            align = cosine(dot[g], n0, dn)
            if n0 > 0:
                along = n0 + dot[g] / n0
                perp = math.sqrt(max(dsq[g] - (dot[g] / n0) ** 2, 0.0))
                n1 = math.hypot(along, perp)
                angle = math.atan2(perp, along)
                sim = along / n1 if n1 > 0 else math.nan
            else:
                n1, angle, sim = dn, math.nan, math.nan
            rel = dn / (self._lr * n0) if self._lr and n0 > 0 else math.nan
            out["groups"][group] = {
                "norm": n0,
                "next_norm": n1,
                "step_norm": dn,
                "alignment": align,
                "direction_similarity": sim,
                "angular_update": angle,
                "relative_step": rel,
            }
        if self.probe is not None and t % self.saturation_every == 0:
            out["saturation"] = self._saturation(before)
        return out

    def _emit(self, record: dict[str, Any]) -> None:
        record = _clean(record)
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
