"""The degree engine: Table 1 (SPEC D16) applied to the aten ops a model executes.

* :mod:`~homogeneity.degree_engine.op_rules`: one rule per aten op (the table the docs
  render);
* :mod:`~homogeneity.degree_engine.interpreter`: the ``TorchDispatchMode`` that applies
  them, with each tensor's degree in a side table and module paths from forward hooks;
* :mod:`~homogeneity.degree_engine.predict`: one functional run of a model
  (:func:`homogeneity.rules.predict_degree`) or of a function (:func:`trace_degree`);
* :mod:`~homogeneity.degree_engine.examples`: example inputs for modules that say what
  they take.
"""

from homogeneity.degree_engine.examples import example_inputs
from homogeneity.degree_engine.op_rules import OP_RULES, OpRule, rule_table
from homogeneity.degree_engine.predict import predict_model_degree, trace_degree
from homogeneity.degree_engine.tensor_degree import CONSTANT, ZERO, TensorDegree

__all__ = [
    "CONSTANT",
    "OP_RULES",
    "OpRule",
    "TensorDegree",
    "ZERO",
    "example_inputs",
    "predict_model_degree",
    "rule_table",
    "trace_degree",
]
