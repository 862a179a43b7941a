"""The mpmath checker core must not import torch (it is usable without it, and fast to load)."""

from __future__ import annotations

import subprocess
import sys

CORE = (
    "homogeneity.errors",
    "homogeneity.constants",
    "homogeneity.growth_formulas",
    "proofs_numeric",
    "proofs_numeric.claim",
    "proofs_numeric.profiles",
    "proofs_numeric.storage",
    "proofs_numeric.precision",
    "proofs_numeric.precision.context",
    "proofs_numeric.precision.convert",
    "proofs_numeric.precision.scalar",
    "proofs_numeric.precision.softmax_limits",
    "proofs_numeric.precision.intervals",
    "proofs_numeric.precision.norms",
    "proofs_numeric.precision.linalg",
    "proofs_numeric.precision.model",
    "proofs_numeric.precision.inventory",
    "proofs_numeric.limits",
    "proofs_numeric.search",
    "proofs_numeric.runner",
    "proofs_numeric.report",
    "proofs_numeric.strategies",
    "proofs_numeric.families",
    "proofs_numeric.claims.g1_aligned_growth",
    "proofs_numeric.claims.g2_misaligned_growth",
    "proofs_numeric.claims.l6_sigmoid",
    "proofs_numeric.claims.l7_softmax",
    "proofs_numeric.claims.d7_generalised_argmax",
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


def test_the_precision_package_loads_no_numpy_either() -> None:
    assert _loaded_after(("proofs_numeric.precision", "homogeneity.growth_formulas")) == set()


def test_the_encoder_strategies_are_reachable_without_importing_torch_first() -> None:
    """strategies.encoder_configs is loaded on first use (from model_strategies, which
    imports torch), so importing the strategies module alone stays torch-free."""
    code = (
        "import sys\n"
        "import proofs_numeric.strategies as S\n"
        "assert 'torch' not in sys.modules\n"
        "S.encoder_configs()\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_the_probe_sees_torch_when_it_is_imported() -> None:
    # negative control: the probe itself must be able to see an import of torch
    assert "torch" in _loaded_after(("homogeneity.scaling",))
    # and the modules documented as torch-side do import it
    assert "torch" in _loaded_after(("proofs_numeric.precision.torch_weights",))
    assert "torch" in _loaded_after(("proofs_numeric.model_strategies",))


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


def test_every_main_module_can_be_imported_without_running() -> None:
    # the campaign imports every module of both packages (Hypothesis draws constants from
    # loaded modules), so a ``__main__`` module must run its command only under python -m
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    mains = sorted((root / "homogeneity").rglob("__main__.py")) + sorted(
        (root / "proofs_numeric").rglob("__main__.py")
    )
    assert mains, "the probe found no __main__ modules"
    for path in mains:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            is_call = isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            assert not (isinstance(node, ast.Raise) or is_call), (
                f"{path.relative_to(root)} runs at import (line {node.lineno}); "
                'put it under `if __name__ == "__main__":`'
            )
