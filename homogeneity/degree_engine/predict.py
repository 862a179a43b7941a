"""Running a model (or one function) under the degree interpreter.

:func:`predict_model_degree` is :func:`homogeneity.rules.predict_degree`: it makes the
parameter dict of a functional call (working-dtype copies only where the dtype differs;
buffers always copied, so a forward that updates them cannot reach the caller's module),
gives every tensor its degree (scaled parameters 1, other parameters and buffers θ-free,
floating inputs the input degree, integer and boolean inputs data) and runs the model once
under :class:`~homogeneity.degree_engine.interpreter.DegreeInterpreter`.

Attention runs through the math kernel of scaled-dot-product attention, with the
``nn.MultiheadAttention`` fast path off (:func:`homogeneity.execution.checked_backends`,
the same switches as every check's evaluations, restored afterwards): the fused kernels
are then decomposed into the matmul, mask and softmax ops that have rules. (The fused ops
have rules too, for a kernel that is forced some other way.) The inputs, a lone mapping
of keyword arguments included, and the selected output are those of
:class:`~homogeneity.scaling.Ray`.

:func:`trace_degree` runs one function on tensors whose degrees are given: the engine
applied to a single rule of Table 1, as the D16 claim checks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.utils._pytree import tree_leaves, tree_map_only

from homogeneity.degree_engine.examples import example_inputs
from homogeneity.degree_engine.interpreter import DegreeInterpreter
from homogeneity.degree_engine.op_rules import OpRule, dispatch_table
from homogeneity.degree_engine.tensor_degree import CONSTANT, TensorDegree
from homogeneity.errors import HomogeneityInputError
from homogeneity.execution import checked_backends, mapping_as_keywords
from homogeneity.execution.input_diagnosis import (
    diagnose_failure,
    input_kind_diagnosis,
    named_inputs,
)
from homogeneity.execution.module_paths import ModulePathTracker
from homogeneity.execution.observed_calls import CallObserver
from homogeneity.rules import Degree, DegreeDerivation, MissingRule, as_degree
from homogeneity.scaling import OutputSelector, Patterns, default_output, select_parameter_names
from homogeneity.validation import check_float_dtype, check_input_kinds

#: how the model is run, for the derivation's "run:" line
ATTENTION_PATH = (
    "scaled-dot-product attention by its math kernel, nn.MultiheadAttention fast path off "
    "(restored afterwards)"
)


def _module_paths(model: nn.Module) -> dict[nn.Module, str]:
    paths: dict[nn.Module, str] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        paths.setdefault(m, name)
    return paths


def _scaled_predicate(model: nn.Module, parameters: Patterns) -> tuple[set[str], Callable]:
    """The canonical names of θ, and a predicate on any alias of a parameter name (a tied
    weight answers for every name it has)."""
    canonical = [n for n, _ in model.named_parameters()]
    scaled = set(select_parameter_names(canonical, parameters))
    first: dict[int, str] = {}
    alias: dict[str, str] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        alias[name] = first.setdefault(id(p), name)
    return scaled, lambda name: alias.get(name, name) in scaled


def _working(t: torch.Tensor, dtype: torch.dtype, copy: bool) -> torch.Tensor:
    t = t.detach()
    if t.is_floating_point():
        return t.to(dtype, copy=copy)
    return t.clone() if copy else t


def predict_model_degree(
    model: nn.Module,
    *,
    input_degree: Degree,
    parameters: Patterns = None,
    inputs: Any = None,
    kwargs: Mapping[str, Any] | None = None,
    output: OutputSelector | None = None,
    dtype: torch.dtype | None = None,
) -> DegreeDerivation:
    """See :func:`homogeneity.rules.predict_degree`."""
    if not isinstance(model, nn.Module):
        raise HomogeneityInputError(
            f"model must be a torch.nn.Module, got {type(model).__name__}; wrap a plain "
            f"function in a Module (or use homogeneity.degree_engine.trace_degree)"
        )
    dtype = torch.float64 if dtype is None else dtype
    check_float_dtype(dtype)
    scaled, is_scaled = _scaled_predicate(model, parameters)
    built = inputs is None and not kwargs
    if inputs is None:
        inputs = example_inputs(model) if built else ()
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    inputs, kwargs = mapping_as_keywords(model, inputs, kwargs or {})  # as the Ray does
    check_input_kinds(inputs, "inputs")
    check_input_kinds(kwargs, "kwargs")

    def cast(t: torch.Tensor) -> torch.Tensor:
        return t.to(dtype) if t.is_floating_point() else t

    call_kwargs: dict[str, Any] = tree_map_only(torch.Tensor, cast, dict(kwargs or {}))
    inputs = tree_map_only(torch.Tensor, cast, inputs)
    params = {n: _working(p, dtype, copy=False) for n, p in model.named_parameters()}
    buffers = {n: _working(b, dtype, copy=True) for n, b in model.named_buffers()}

    interpreter = DegreeInterpreter(dispatch_table(), _module_paths(model), is_scaled)
    for name, p in params.items():
        interpreter.set_degree(p, TensorDegree.of(Degree.exact(1)) if name in scaled else CONSTANT)
    for b in buffers.values():
        interpreter.set_degree(b, CONSTANT)
    _give_inputs(interpreter, (inputs, call_kwargs), input_degree)

    out = _run_once(model, {**params, **buffers}, inputs, call_kwargs, interpreter)
    selected = (output or default_output)(out)
    what = "example inputs built by the model" if built else "the given inputs"
    return _derivation(
        interpreter,
        interpreter.degree_of(selected),
        input_degree,
        f"one {str(dtype).removeprefix('torch.')} forward on {what}; {ATTENTION_PATH}",
    )


def _run_once(
    model: nn.Module,
    tensors: dict[str, torch.Tensor],
    inputs: tuple,
    kwargs: dict[str, Any],
    interpreter: DegreeInterpreter,
) -> Any:
    """One functional forward under the interpreter; an input of the wrong kind (integer
    ids into a float model, a list) is reported as the checks report it, naming the input
    and the module where the model tripped on it."""
    named = named_inputs(inputs, kwargs)
    tracker = ModulePathTracker(model)
    observer = CallObserver(tracker, input_kind_diagnosis(named))
    try:
        with torch.no_grad(), checked_backends(), tracker, observer, interpreter.tracking():
            return functional_call(model, tensors, inputs, kwargs, strict=False)
    except TypeError as exc:
        clear = diagnose_failure(exc, named)
        if clear is None:
            raise
        raise clear from exc


def _give_inputs(interpreter: DegreeInterpreter, tree: Any, degree: Degree) -> None:
    data = degree == Degree.exact(0)
    for t in tree_leaves(tree):
        if isinstance(t, torch.Tensor):
            floating = t.is_floating_point()
            interpreter.set_degree(t, TensorDegree(degree, constant=data) if floating else CONSTANT)


def _derivation(
    interpreter: DegreeInterpreter, td: TensorDegree, input_degree: Degree, execution: str
) -> DegreeDerivation:
    missing: MissingRule | None = td.missing or interpreter.untracked
    degree = td.degree if missing is None else Degree.none(f"no prediction: {missing}")
    return DegreeDerivation(degree, interpreter.steps, input_degree, missing, execution)


def trace_degree(
    fn: Callable[..., torch.Tensor],
    args: Sequence[torch.Tensor],
    degrees: Sequence[Degree | float],
    rules: Mapping[str, OpRule] | None = None,
) -> DegreeDerivation:
    """The degree of ``fn(*args)`` when ``args[i]`` has degree ``degrees[i]`` in θ.

    Every argument is treated as θ-dependent (also those of degree 0), so the rules of the
    ops ``fn`` executes decide; ``fn`` runs once under the interpreter, in no-grad mode.
    ``rules`` replaces the rule table (:data:`~homogeneity.degree_engine.op_rules.OP_RULES`),
    e.g. to check that a wrong rule is caught.
    """
    if len(args) != len(degrees):
        raise HomogeneityInputError(
            f"degrees has {len(degrees)} entries for {len(args)} args; give one degree per argument"
        )
    if len({id(t) for t in args}) != len(args):
        raise HomogeneityInputError(
            "args holds the same tensor twice; a tensor has one degree, so pass distinct "
            "tensors (e.g. x and x.clone())"
        )
    interpreter = DegreeInterpreter(dispatch_table(rules), {}, lambda name: False)
    for t, d in zip(args, degrees, strict=True):
        interpreter.set_degree(t, TensorDegree.of(as_degree(d)))
    with torch.no_grad(), checked_backends(), interpreter.tracking():
        out = fn(*args)
    return _derivation(
        interpreter, interpreter.degree_of(out), Degree.exact(0), "one call of the function"
    )
