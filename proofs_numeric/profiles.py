"""Search profiles: how hard every Hypothesis search of the project works, for the claims
and for the test suite alike.

One variable selects the profile: ``HYPOTHESIS_PROFILE`` (``ci`` when unset). The claims
read it through :func:`selected_profile`; ``tests/conftest.py`` registers every profile
with Hypothesis (:func:`register_hypothesis_profiles`) and loads the selected one, so a
``@given`` test and a claim search run with the same number of examples.

=============  ========  ======  =======  ===========  ==========
profile        examples  digits  re-check  derandomize  min. cases
=============  ========  ======  =======  ===========  ==========
``ci``         30        50      100      yes          20
``thorough``   300       60      150      no           1000
=============  ========  ======  =======  ===========  ==========
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from homogeneity.errors import HomogeneityInputError

#: The environment variable that selects the profile (for the claims and the tests).
PROFILE_VARIABLE = "HYPOTHESIS_PROFILE"
#: The profile used when the variable is unset.
DEFAULT_PROFILE = "ci"


@dataclass(frozen=True)
class Profile:
    """How hard to search.

    ``max_examples``: Hypothesis examples per search (per ``@given`` test);
    ``digits``: the mpmath working precision (decimal digits) of a claim's search;
    ``recheck_digits``: the precision at which a counterexample is confirmed;
    ``derandomize``: reproducible searches (the ``ci`` profile);
    ``min_cases``: the floor of non-vacuous cases a verified claim must rest on.
    """

    name: str
    max_examples: int
    digits: int
    recheck_digits: int
    derandomize: bool
    min_cases: int

    def __post_init__(self) -> None:
        if self.max_examples < 1:
            raise HomogeneityInputError(f"max_examples={self.max_examples} must be ≥ 1")
        if self.digits < 15 or self.recheck_digits < self.digits:
            raise HomogeneityInputError(
                f"digits={self.digits}, recheck_digits={self.recheck_digits}: need digits ≥ 15 "
                f"and recheck_digits ≥ digits (the re-check must not be less precise)"
            )
        if self.min_cases < 1:
            raise HomogeneityInputError(f"min_cases={self.min_cases} must be ≥ 1")


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        "ci", max_examples=30, digits=50, recheck_digits=100, derandomize=True, min_cases=20
    ),
    "thorough": Profile(
        "thorough",
        max_examples=300,
        digits=60,
        recheck_digits=150,
        derandomize=False,
        min_cases=1000,
    ),
}


def get_profile(name: str | Profile) -> Profile:
    """Look a profile up by name (``ci`` or ``thorough``); a Profile passes through."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise HomogeneityInputError(
            f"profile={name!r} is unknown; pass one of {sorted(PROFILES)}"
        ) from None


def selected_profile(environ: Mapping[str, str] | None = None) -> Profile:
    """The profile named by ``$HYPOTHESIS_PROFILE`` (``ci`` when unset or empty)."""
    env = os.environ if environ is None else environ
    name = env.get(PROFILE_VARIABLE) or DEFAULT_PROFILE
    if name not in PROFILES:
        raise HomogeneityInputError(
            f"{PROFILE_VARIABLE}={name!r} names no profile; set it to one of {sorted(PROFILES)}"
        )
    return PROFILES[name]


def register_hypothesis_profiles() -> None:
    """Register every profile with Hypothesis under its name (examples, derandomize, no
    deadline, slow-data health checks off), for ``settings.load_profile(name)``."""
    from hypothesis import HealthCheck, settings

    for profile in PROFILES.values():
        settings.register_profile(
            profile.name,
            max_examples=profile.max_examples,
            derandomize=profile.derandomize,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
