"""System packages some tests need beyond the virtualenv (the README's "Developer set-up").

A developer without one of them gets a skip that says what is missing; CI sets the
named flag to 1, which turns the skip into a failure, so nothing is skipped there.
"""

import os

import pytest


def skip_unless_required(missing: str, flag: str) -> None:
    """Skip the calling test because `missing` is not there, or fail if `flag`=1 is set."""
    if os.environ.get(flag) == "1":
        pytest.fail(f"{missing} ({flag}=1 is set, so this test may not skip).", pytrace=False)
    pytest.skip(f"{missing}: see the README's Developer set-up. {flag}=1 makes this a failure.")
