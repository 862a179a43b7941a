"""The mpmath checker core must not import torch (it is usable without it, and fast to load)."""

from __future__ import annotations

import subprocess
import sys

CORE = (
    "homogeneity.errors",
    "proofs_numeric",
    "proofs_numeric.claim",
    "proofs_numeric.precision",
    "proofs_numeric.limits",
    "proofs_numeric.search",
    "proofs_numeric.runner",
    "proofs_numeric.report",
)


def _loaded_after(modules: tuple[str, ...]) -> set[str]:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(' '.join(sorted(m for m in ('torch', 'numpy') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_checker_core_loads_no_torch() -> None:
    assert "torch" not in _loaded_after(CORE)


def test_the_probe_sees_torch_when_it_is_imported() -> None:
    # negative control: the probe itself must be able to see an import of torch
    assert "torch" in _loaded_after(("homogeneity.scaling",))


def test_root_exports_are_not_shadowed_by_submodules() -> None:
    # importing a submodule binds its name on the package: no exported name may be a
    # submodule's name, or `from homogeneity import x` would return the module
    import importlib
    import pkgutil
    import types

    import homogeneity

    for info in pkgutil.iter_modules(homogeneity.__path__):
        importlib.import_module(f"homogeneity.{info.name}")
    for name in homogeneity.__all__:
        value = getattr(homogeneity, name)
        assert not isinstance(value, types.ModuleType), f"homogeneity.{name} is a module"
