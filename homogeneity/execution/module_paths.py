"""Which module of a model is running: a stack of module paths kept by global forward
hooks (in the manner of ``torch.utils.module_tracker.ModuleTracker``, without its
backward bookkeeping).

    with ModulePathTracker(model) as modules:
        model(x)             # inside, modules.current is e.g. "h.0.attn" while it runs

The hooks are registered on entry and removed on exit (also on errors); the model itself
is not touched. Paths are the names of ``model.named_modules()``; the root is
``"<model>"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn
from torch.utils.hooks import RemovableHandle

ROOT_PATH = "<model>"

ModuleOutputCallback = Callable[[str, nn.Module, Any], None]


class ModulePathTracker:
    """The path of the innermost running module (``current``) and the module classes
    that ran (``called``), while the context is active.

    ``on_output(path, module, output)``, if given, is called when a module returns.
    """

    def __init__(
        self, root: nn.Module | None, on_output: ModuleOutputCallback | None = None
    ) -> None:
        self._names: dict[int, str] = {}
        if root is not None:
            for name, module in root.named_modules():
                self._names.setdefault(id(module), name or ROOT_PATH)
        self._stack: list[tuple[int, str]] = []
        self._handles: list[RemovableHandle] = []
        self._on_output = on_output
        self._class_names: dict[str, str] = {}
        self.called: dict[type, int] = {}

    # -- where are we ------------------------------------------------------------------
    @property
    def current(self) -> str:
        """The innermost running module's path ("" outside any module)."""
        return self._stack[-1][1] if self._stack else ""

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths of every running module, outermost first."""
        return tuple(name for _, name in self._stack)

    def describe(self, path: str | None = None) -> str:
        """``"in module 'h.0.attn' (GPT2Attention)"`` for the current (or a given) path,
        ``"outside any module"`` outside."""
        path = self.current if path is None else path
        if not path:
            return "outside any module"
        cls = self._class_names.get(path)
        return f"in module '{path}' ({cls})" if cls else f"in module '{path}'"

    # -- hooks -------------------------------------------------------------------------
    def _pre(self, module: nn.Module, args: Any) -> None:
        key = id(module)
        name = self._names.get(key)
        if name is None:  # a module outside the model's tree (built inside forward)
            parent = self.current
            name = f"{parent}/{type(module).__name__}" if parent else type(module).__name__
        self._class_names[name] = type(module).__name__
        self._stack.append((key, name))
        self.called[type(module)] = self.called.get(type(module), 0) + 1

    def _post(self, module: nn.Module, args: Any, output: Any) -> None:
        key = id(module)
        # pop up to and including this module (a child that raised left its entry)
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == key:
                path = self._stack[i][1]
                del self._stack[i:]
                if self._on_output is not None:
                    self._on_output(path, module, output)
                return

    def __enter__(self) -> ModulePathTracker:
        self._handles = [
            nn.modules.module.register_module_forward_pre_hook(self._pre),
            nn.modules.module.register_module_forward_hook(self._post),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._stack = []

    def called_any(self, *classes: type) -> int:
        """How many calls to modules of these classes (or subclasses) ran."""
        return sum(n for cls, n in self.called.items() if issubclass(cls, classes))
