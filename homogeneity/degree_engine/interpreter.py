"""The degree interpreter: a ``TorchDispatchMode`` that applies one rule per aten op.

Shaped like ``torch.utils.flop_counter.FlopCounterMode``: every aten op the model executes
passes through :meth:`DegreeInterpreter.__torch_dispatch__`, which runs it and then looks
up the op's rule in :data:`homogeneity.degree_engine.op_rules.OP_RULES` to compute the
degree of its outputs from the degrees of its inputs. Degrees live in a side table keyed
by tensor (``torch.utils.weak.WeakTensorKeyDictionary``), so nothing is attached to the
tensors and nothing outlives them.

Module boundaries are followed with global forward hooks (as
``torch.utils.module_tracker.ModuleTracker`` does), installed only while the interpreter
runs: they give each op its module path, record one derivation step per module call, and
apply the rules declared with :func:`homogeneity.rules.register_rule`, which replace the
engine for modules of their type.

Policy for ops:

* all tensor inputs θ-free (constants) → the outputs are constants, whatever the op;
* an input with no prediction → the outputs have none either (the first missing rule is
  kept, with its module path);
* no rule and a θ-dependent input → the outputs have *no prediction*, naming the op;
* an op that turns a θ-dependent tensor into a Python value (``.item()``, ``bool()``) →
  no prediction for the whole run: what the value does next cannot be followed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakTensorKeyDictionary

from homogeneity.constants import MASK_FLOOR
from homogeneity.degree_engine.tensor_degree import CONSTANT, TensorDegree
from homogeneity.errors import HomogeneityInputError
from homogeneity.rules import (
    Degree,
    DerivationStep,
    MissingRule,
    RuleContext,
    registered_rule,
)

#: op overload -> {argument name: (position, keyword-only, default)}; a pure memo
_SCHEMAS: dict[Any, dict[str, tuple[int, bool, Any]]] = {}


def _schema(func: Any) -> dict[str, tuple[int, bool, Any]]:
    found = _SCHEMAS.get(func)
    if found is None:
        found = {
            a.name: (i, a.kwarg_only, a.default_value if a.has_default_value() else None)
            for i, a in enumerate(func._schema.arguments)
        }
        _SCHEMAS[func] = found
    return found


def op_name(func: Any) -> str:
    """``aten.add`` for ``aten.add.Tensor``: the name the rule table uses."""
    return f"aten.{func.overloadpacket.__name__}"


class Operand:
    """One argument of an op: its value (tensor, Python number or None) and its degree."""

    __slots__ = ("value", "td")

    def __init__(self, value: Any, td: TensorDegree) -> None:
        self.value = value
        self.td = td

    @property
    def degree(self) -> Degree:
        return self.td.degree

    @property
    def constant(self) -> bool:
        return self.td.constant


class OpCall:
    """What a rule sees of one executed op: arguments by schema name, their degrees, and
    where the op ran (for the reasons it writes)."""

    __slots__ = ("func", "args", "kwargs", "out", "interpreter")

    def __init__(
        self,
        func: Any,
        args: tuple,
        kwargs: Mapping[str, Any],
        out: Any,
        interpreter: DegreeInterpreter,
    ) -> None:
        self.func, self.args, self.kwargs, self.out = func, args, kwargs, out
        self.interpreter = interpreter

    def arg(self, name: str, default: Any = None) -> Any:
        """The argument called ``name`` in the op's schema (its default if not passed)."""
        slot = _schema(self.func).get(name)
        if slot is None:
            return default
        position, keyword_only, schema_default = slot
        if not keyword_only and position < len(self.args):
            return self.args[position]
        if name in self.kwargs:
            return self.kwargs[name]
        return schema_default if schema_default is not None else default

    def operand(self, name: str) -> Operand:
        value = self.arg(name)
        return Operand(value, self.interpreter.degree_of(value))

    def operands(self, name: str) -> list[Operand]:
        """The tensors of a list argument (``cat``'s tensors, ``index``'s indices)."""
        return [Operand(v, self.interpreter.degree_of(v)) for v in self.arg(name) or ()]

    @property
    def where(self) -> str:
        return f"'{self.interpreter.path}' ({op_name(self.func)})"

    def is_zero(self, o: Operand) -> bool:
        return self.interpreter.is_zero(o)

    def is_mask(self, o: Operand) -> bool:
        return self.interpreter.is_mask(o)


#: rule(op call) -> the degree of every tensor output, or one per top-level output
OpRuleFn = Callable[[OpCall], "TensorDegree | tuple[TensorDegree, ...]"]


class DegreeInterpreter(TorchDispatchMode):
    """Runs a model's ops and keeps the degree in θ of every tensor they produce.

    Args:
        rules: aten op (overload packet) → (rule, folds constants).
        module_paths: module → its path in the model (the names of ``named_modules``).
        is_scaled: whether a fully qualified parameter name belongs to θ (for user rules).
    """

    def __init__(
        self,
        rules: Mapping[Any, tuple[OpRuleFn, bool]],
        module_paths: Mapping[nn.Module, str],
        is_scaled: Callable[[str], bool],
    ) -> None:
        super().__init__()
        self.rules = rules
        self.module_paths = module_paths
        self.is_scaled = is_scaled
        self.degrees: WeakTensorKeyDictionary = WeakTensorKeyDictionary()
        self._zero: WeakTensorKeyDictionary = WeakTensorKeyDictionary()
        self._mask: WeakTensorKeyDictionary = WeakTensorKeyDictionary()
        self.scope: list[tuple[str, Any]] = []
        self.suppressed = 0
        self.steps: list[DerivationStep] = []
        self.untracked: MissingRule | None = None

    # -- the side table ---------------------------------------------------------------
    @property
    def path(self) -> str:
        return (self.scope[-1][0] if self.scope else "") or "<model>"

    def degree_of(self, x: Any) -> TensorDegree:
        """The recorded degree of a tensor; anything unrecorded (Python numbers, tensors
        from outside the model's parameters and inputs) is θ-free."""
        if isinstance(x, torch.Tensor):
            return self.degrees.get(x, CONSTANT)
        return CONSTANT

    def set_degree(self, t: torch.Tensor, td: TensorDegree) -> None:
        self.degrees[t] = td
        self._zero.pop(t, None)
        self._mask.pop(t, None)

    def is_zero(self, o: Operand) -> bool:
        """True when the operand is identically zero along the whole ray: a zero Python
        number, or a tensor that is all zeros now and exactly homogeneous (a zero of an
        exact degree stays zero at every ρ)."""
        v = o.value
        if not isinstance(v, torch.Tensor):
            return isinstance(v, int | float) and v == 0
        if o.td.zero:
            return True
        if not (o.td.constant or o.td.degree.kind == "exact"):
            return False
        found = self._zero.get(v)
        if found is None:
            found = v.numel() == 0 or not bool(v.any())
            self._zero[v] = found
        return found

    def is_mask(self, o: Operand) -> bool:
        """True when an operand that is the same at every ρ (θ-free, or exactly of degree
        0, e.g. built from a comparison of scores) holds only 0 and masking values (−∞,
        or at most :data:`~homogeneity.constants.MASK_FLOOR`, e.g. ``finfo(dtype).min``)."""
        if not (o.td.constant or o.td.degree == Degree.exact(0)):
            return False
        v = o.value
        if not isinstance(v, torch.Tensor):
            return isinstance(v, int | float) and v <= MASK_FLOOR
        if not v.is_floating_point():
            return False
        found = self._mask.get(v)
        if found is None:
            found = bool(((v == 0) | (v <= MASK_FLOOR)).all())
            self._mask[v] = found
        return found

    # -- ops ----------------------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not self.suppressed:
            self._interpret(func, args, kwargs, out)
        return out

    def _input_degrees(self, args: tuple, kwargs: Mapping[str, Any]) -> list[TensorDegree]:
        get, found = self.degrees.get, []
        for a in (*args, *kwargs.values()):
            if isinstance(a, torch.Tensor):
                found.append(get(a, CONSTANT))
            elif isinstance(a, list | tuple):
                found.extend(get(b, CONSTANT) for b in a if isinstance(b, torch.Tensor))
        return found

    def _interpret(self, func: Any, args: tuple, kwargs: Mapping[str, Any], out: Any) -> None:
        inputs = self._input_degrees(args, kwargs)
        outputs = _output_tensors(out)
        missing = next((td for td in inputs if td.missing is not None), None)
        if missing is not None:
            self._assign(outputs, missing)
            return
        constant = all(td.constant for td in inputs)
        if not outputs:
            if not constant and self.untracked is None:
                self.untracked = MissingRule(
                    op_name(func),
                    self.path,
                    "a θ-dependent tensor was read into a Python value (.item(), bool(), "
                    "int()); what that value does next cannot be followed",
                )
            return
        entry = self.rules.get(func.overloadpacket)
        if entry is None:
            if constant:
                self._assign(outputs, CONSTANT)
            else:
                self._assign(
                    outputs, TensorDegree.unpredicted(MissingRule(op_name(func), self.path))
                )
            return
        rule, folds_constants = entry
        if constant and folds_constants:
            self._assign(outputs, CONSTANT)
            return
        result = rule(OpCall(func, args, kwargs, out, self))
        if isinstance(result, TensorDegree):
            self._assign(outputs, result)
        else:
            parts = out if isinstance(out, tuple | list) else (out,)
            for part, td in zip(parts, result, strict=False):
                self._assign(_output_tensors(part), td)
        self._update_base(func, args)

    def _assign(self, outputs: Sequence[torch.Tensor], td: TensorDegree) -> None:
        for t in outputs:
            self.set_degree(t, td)

    def _update_base(self, func: Any, args: tuple) -> None:
        """An in-place op on a view also changed (part of) the view's base: the base now
        holds entries of both degrees, which mix as in a sum."""
        if not func._schema.arguments or not args or not isinstance(args[0], torch.Tensor):
            return
        alias = func._schema.arguments[0].alias_info
        base = args[0]._base
        if alias is None or not alias.is_write or base is None:
            return
        from homogeneity.degree_engine.op_rules import merge  # the rule of positions

        old, new = Operand(base, self.degree_of(base)), Operand(args[0], self.degree_of(args[0]))
        call = OpCall(func, args, {}, args[0], self)
        self.set_degree(base, merge(call, [old, new], "in-place write"))

    # -- modules ------------------------------------------------------------------------
    def _enter(self, module: nn.Module, args: tuple) -> None:
        path = self.module_paths.get(module, type(module).__name__)
        rule = registered_rule(module) if not self.suppressed else None
        self.scope.append((path, rule))
        if rule is not None:
            self.suppressed += 1

    def _exit(self, module: nn.Module, args: tuple, kwargs: Mapping[str, Any], output: Any) -> None:
        if not self.scope:
            return
        path, rule = self.scope.pop()
        if rule is None and self.suppressed:
            return
        inputs = [t for t in tree_leaves((args, dict(kwargs))) if isinstance(t, torch.Tensor)]
        din = next((self.degree_of(t) for t in inputs if t.is_floating_point()), CONSTANT)
        floating = [t for t in tree_leaves(output) if isinstance(t, torch.Tensor)]
        floating = [t for t in floating if t.is_floating_point()]
        if rule is None:
            dout = self.degree_of(floating[0]) if floating else CONSTANT
            self.steps.append(
                DerivationStep(path or "<model>", type(module).__name__, din.degree, dout.degree)
            )
            return
        self.suppressed -= 1
        missing = next((td for td in map(self.degree_of, inputs) if td.missing), None)
        if missing is not None:
            self._assign(floating, missing)
            return
        degree = rule(module, din.degree, RuleContext(self.is_scaled, path, self.steps))
        if not isinstance(degree, Degree):
            raise HomogeneityInputError(
                f"the degree rule registered for {type(module).__name__} returned "
                f"{type(degree).__name__}; a rule must return a homogeneity.rules.Degree"
            )
        self._assign(floating, TensorDegree.of(degree))

    @contextmanager
    def tracking(self) -> Iterator[DegreeInterpreter]:
        """Interpret every op and follow module boundaries (hooks removed afterwards)."""
        pre = register_module_forward_pre_hook(self._enter)
        post = register_module_forward_hook(self._exit, with_kwargs=True)
        try:
            with self:
                yield self
        finally:
            pre.remove()
            post.remove()


def _output_tensors(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, tuple | list):
        found: list[torch.Tensor] = []
        for o in out:
            found.extend(_output_tensors(o))
        return found
    return []
