"""The fixed-window counter behind every rate limit."""

import time

import pytest
from django.test import RequestFactory

from ideabank import ratelimit

WINDOW = 15 * 60


@pytest.fixture
def clock(monkeypatch):
    """Time that tests move on by hand; starts at the beginning of a window."""
    now = {"value": (time.time() // WINDOW + 1) * WINDOW}
    monkeypatch.setattr(time, "time", lambda: now["value"])

    def advance(seconds: float) -> None:
        now["value"] += seconds

    return advance


def test_too_many_says_no_up_to_the_limit_and_yes_after(clock):
    answers = [ratelimit.too_many("test", "kari", limit=3, window=WINDOW) for _ in range(5)]

    assert answers == [False, False, False, True, True]


def test_reached_counts_nothing(clock):
    for _ in range(2):
        ratelimit.hit("test", "kari", window=WINDOW)

    before = [ratelimit.reached("test", "kari", limit=3, window=WINDOW) for _ in range(5)]
    ratelimit.hit("test", "kari", window=WINDOW)

    assert before == [False] * 5
    assert ratelimit.hits("test", "kari", window=WINDOW) == 3
    assert ratelimit.reached("test", "kari", limit=3, window=WINDOW) is True


def test_keys_and_scopes_count_apart(clock):
    for _ in range(3):
        ratelimit.hit("login", "kari", window=WINDOW)

    assert ratelimit.hits("login", "kari", window=WINDOW) == 3
    assert ratelimit.hits("login", "ola", window=WINDOW) == 0
    assert ratelimit.hits("signup", "kari", window=WINDOW) == 0


def test_next_window_starts_from_zero(clock):
    for _ in range(4):
        ratelimit.too_many("test", "kari", limit=3, window=WINDOW)
    clock(WINDOW - 1)
    still_limited = ratelimit.reached("test", "kari", limit=3, window=WINDOW)

    clock(1)

    assert still_limited is True
    assert ratelimit.reached("test", "kari", limit=3, window=WINDOW) is False
    assert ratelimit.too_many("test", "kari", limit=3, window=WINDOW) is False


def test_clear_forgets_the_hits(clock):
    for _ in range(3):
        ratelimit.hit("test", "kari", window=WINDOW)

    ratelimit.clear("test", "kari", window=WINDOW)

    assert ratelimit.hits("test", "kari", window=WINDOW) == 0


def test_minutes_left_rounds_up_to_the_end_of_the_window(clock):
    at_start = ratelimit.minutes_left(WINDOW)
    clock(WINDOW - 90)
    near_end = ratelimit.minutes_left(WINDOW)
    clock(89.5)

    assert at_start == 15
    assert near_end == 2
    assert ratelimit.minutes_left(WINDOW) == 1
    assert ratelimit.seconds_left(WINDOW) == 1


@pytest.mark.parametrize(
    "key", ["", "x" * 100_000, "kari nordmann@example.org", "æøå\n\t😀", "\udcff"]
)
def test_any_key_is_counted(clock, key):
    answers = [ratelimit.too_many("test", key, limit=1, window=WINDOW) for _ in range(2)]

    assert answers == [False, True]


def test_limit_object_uses_its_own_numbers(clock):
    limit = ratelimit.Limit("test", limit=2, window=WINDOW)

    answers = [limit.too_many("kari") for _ in range(3)]

    assert answers == [False, False, True]
    assert limit.hits("kari") == 3
    assert limit.reached("kari") is True
    assert limit.minutes_left() == 15


def test_client_ip_is_remote_addr_and_ignores_forwarded_for():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="198.51.100.7"
    )

    assert ratelimit.client_ip(request) == "192.0.2.10"
