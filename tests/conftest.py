"""Shared test configuration.

Hypothesis profiles come from :mod:`proofs_numeric.profiles`, the same ones the claims
use: ``ci`` (default, derandomized) and ``thorough``, selected with the environment
variable ``HYPOTHESIS_PROFILE=thorough``. The test suite keeps Hypothesis's files in the
repository's ``.hypothesis/`` (ignored by git) unless ``HYPOTHESIS_STORAGE_DIRECTORY``
says otherwise; the checker used from anywhere else keeps them in a per-user cache
(:mod:`proofs_numeric.storage`).
"""

import os
from pathlib import Path

os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(__file__).resolve().parent.parent / ".hypothesis")
)

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

from proofs_numeric.profiles import register_hypothesis_profiles, selected_profile  # noqa: E402

register_hypothesis_profiles()
settings.load_profile(selected_profile().name)


pytest_plugins = ["proofs_numeric.pytest_plugin"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small tensors on a shared 2-core machine: one intra-op thread is many times faster
    than two fighting other processes. Restored afterwards. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
