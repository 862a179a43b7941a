"""Shared test configuration.

Hypothesis profiles: ``ci`` (default, fast) and ``thorough`` (many more examples).
Select with the environment variable ``HYPOTHESIS_PROFILE=thorough``.
"""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
