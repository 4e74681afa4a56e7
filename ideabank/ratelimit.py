"""Rate limits: a fixed-window counter on Django's cache.

Each (scope, key) gets a counter per window of `window` seconds: the key names the
window it counts in, so a new window starts from zero and nobody stays locked out
for longer than one window. `cache.add` + `cache.incr` is atomic on Redis and on
the local-memory cache, so concurrent requests cannot slip past the limit together.
With more than one process the cache must be shared (REDIS_URL), or each process
counts on its own.

We do not use django-ratelimit: it refuses the local-memory cache we default to and
does not know Django's own Redis backend.

Nor django-axes, for log-in: it keys lock-outs on the username as typed (so `vıctim@`
counts apart from `victim@`, while the lookup finds the same account), its lock-out
parameters are IP, username or their combination, not "many addresses fail on one
account: slow down the addresses that failed, never the ones that did not" (see
LOGIN_FAILURES_PER_ACCOUNT in ideabank/views.py), it writes every attempt to the
database by default, and it needs its own authentication backend and middleware. It
would also cover log-in only: sign-up, password reset, confirmation mails and the
contact form need these counters anyway, so one small module serves them all.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext

KEY_PREFIX = "ratelimit"


def _window_start(window: int) -> int:
    return int(time.time()) // window * window


def _cache_key(scope: str, key: str, window: int) -> str:
    # Keys hold what people typed (e-mail addresses, any length and characters):
    # a digest keeps cache keys short and valid for every backend.
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{KEY_PREFIX}:{scope}:{window}:{_window_start(window)}:{digest}"


def hits(scope: str, key: str, *, window: int) -> int:
    """How many hits (scope, key) has had in the current window, without counting one."""
    return cache.get(_cache_key(scope, key, window), 0)


def hit(scope: str, key: str, *, window: int) -> int:
    """Count one hit for (scope, key) in the current window; the count so far, this one included."""
    cache_key = _cache_key(scope, key, window)
    # Live a little past the window's end so a slow request still finds its counter.
    timeout = window - (int(time.time()) - _window_start(window)) + 5
    cache.add(cache_key, 0, timeout=timeout)
    try:
        return cache.incr(cache_key)
    except ValueError:
        # The counter expired between add and incr: this hit starts the next one.
        cache.add(cache_key, 1, timeout=timeout)
        return 1


def too_many(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one hit; True when it is over `limit` hits in the current window.

    For "every attempt counts" limits (attempts per client address, contact
    messages, sign-ups): call it once per attempt and refuse when it says True.
    """
    return hit(scope, key, window=window) > limit


def reached(scope: str, key: str, *, limit: int, window: int) -> bool:
    """True when (scope, key) has used up `limit` hits in this window; counts nothing.

    For "failures count" limits (wrong passwords per account): check this before
    the attempt, and `hit()` only when the attempt fails.
    """
    return hits(scope, key, window=window) >= limit


def clear(scope: str, key: str, *, window: int) -> None:
    """Forget (scope, key)'s hits in the current window (a correct password, say)."""
    cache.delete(_cache_key(scope, key, window))


def minutes_left(window: int) -> int:
    """Whole minutes, rounded up, until the current window ends: what to tell people to wait."""
    return max(1, math.ceil(seconds_left(window) / 60))


def client_ip(request: HttpRequest) -> str:
    """The address limits per client count against.

    REMOTE_ADDR, never X-Forwarded-For: that header is whatever the client sends,
    so trusting it would let anyone pick a fresh address for every attempt. Behind a
    reverse proxy or load balancer REMOTE_ADDR is the proxy's address and every
    visitor would share one limit: the proxy (or a middleware that knows exactly
    which proxies to trust) must then put the real client address in REMOTE_ADDR.
    """
    return request.META.get("REMOTE_ADDR") or "unknown"


def seconds_left(window: int) -> int:
    """Whole seconds until the current window ends (for the Retry-After header)."""
    return max(1, math.ceil(_window_start(window) + window - time.time()))


@dataclass(frozen=True)
class Limit:
    """A named limit: at most `limit` hits per `window` seconds for each key in `scope`."""

    scope: str
    limit: int
    window: int

    def too_many(self, key: str) -> bool:
        return too_many(self.scope, key, limit=self.limit, window=self.window)

    def reached(self, key: str) -> bool:
        return reached(self.scope, key, limit=self.limit, window=self.window)

    def hits(self, key: str) -> int:
        return hits(self.scope, key, window=self.window)

    def hit(self, key: str) -> int:
        return hit(self.scope, key, window=self.window)

    def clear(self, key: str) -> None:
        clear(self.scope, key, window=self.window)

    def minutes_left(self) -> int:
        return minutes_left(self.window)

    def seconds_left(self) -> int:
        return seconds_left(self.window)


def render_limited(
    request: HttpRequest, template: str, context: dict, limit: Limit
) -> HttpResponse:
    """The page again, status 429, with how long to wait at the top of its error summary.

    The template shows `extra_errors` through includes/error_summary.html. Pass an
    unbound form (initial= what was typed, never a password): checking a bound one
    would do the very work the limit is there to stop, such as trying a password.
    """
    minutes = limit.minutes_left()
    message = ngettext(
        "Too many attempts. Wait %(minutes)d minute and try again.",
        "Too many attempts. Wait %(minutes)d minutes and try again.",
        minutes,
    ) % {"minutes": minutes}
    response = render(request, template, {**context, "extra_errors": [message]}, status=429)
    response["Retry-After"] = str(limit.seconds_left())
    return response
