"""The "never modifies the caller's module" contract, as test helpers.

:func:`snapshot` records everything about a module that a check must leave alone (state,
dtypes, devices, train/eval flags, gradients, requires_grad); :func:`assert_unchanged`
compares bit for bit (NaN-safe, via the raw bytes).
"""

from __future__ import annotations

from torch import nn


def snapshot(module: nn.Module) -> dict:
    """Everything about a module that a check must leave alone."""
    return {
        "state": {
            k: (v.dtype, v.device, v.detach().cpu().clone())
            for k, v in module.state_dict(keep_vars=True).items()
        },
        "training": [m.training for m in module.modules()],
        "grads": [p.grad for p in module.parameters()],
        "requires_grad": [p.requires_grad for p in module.parameters()],
    }


def assert_unchanged(module: nn.Module, before: dict) -> None:
    after = snapshot(module)
    assert after["state"].keys() == before["state"].keys()
    for k, (dtype, dev, value) in before["state"].items():
        dtype2, dev2, value2 = after["state"][k]
        assert (dtype2, dev2) == (dtype, dev), k
        assert value2.numpy().tobytes() == value.numpy().tobytes(), k
    assert after["training"] == before["training"]
    assert all(g is None for g in after["grads"])
    assert after["requires_grad"] == before["requires_grad"]
