"""Leave a model's hook tables and attributes as they were.

In ``transformers`` 5, calling a model with ``output_hidden_states=True`` installs output
capturing forward hooks on its modules, once, and marks the model with an attribute.
When a ray asks for per-layer outputs it passes that flag itself, so it removes whatever
the call added: :func:`hooks_restored` records each module's hook tables and attribute
names on entry and deletes the additions on exit (also when the block raises).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

#: the per-module hook tables of torch.nn.Module
HOOK_TABLES = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
)


@contextmanager
def hooks_restored(root: nn.Module) -> Iterator[None]:
    """Remove the hooks and attributes added to ``root``'s modules inside the block."""
    before = [
        (m, {t: set(getattr(m, t, {})) for t in HOOK_TABLES}, set(m.__dict__))
        for m in root.modules()
    ]
    try:
        yield
    finally:
        for module, tables, attributes in before:
            for table, keys in tables.items():
                hooks = getattr(module, table, None)
                if hooks is not None:
                    for key in [k for k in hooks if k not in keys]:
                        del hooks[key]
            for name in [a for a in module.__dict__ if a not in attributes]:
                del module.__dict__[name]
