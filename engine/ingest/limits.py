"""What the front door allows before it reads a push: a body size and request rates, per client and per brand.

Token buckets in the receiver process (each `returns serve` worker process keeps its own: with N processes the
limits are N times these). The per-client bucket is taken before anything else, so a stranger's flood costs a
dictionary look-up; the per-brand bucket only by authenticated pushes, so strangers cannot spend a brand's.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.errors import ConfigError
from engine.settings.environment import default_of, env_given

MAX_KEYS = 10_000  # clients remembered per process; the least recently seen is forgotten first


@dataclass(frozen=True)
class Rate:
    """`per_second` requests a second on average, `burst` at once; 0 turns the limit off."""

    per_second: float
    burst: int

    @property
    def off(self) -> bool:
        return self.per_second <= 0


def _setting(environ: Mapping[str, str] | None, name: str) -> str:
    """The variable as set, else (unset, empty or blank) its declared default."""
    return (env_given(name, environ) or "").strip() or default_of(name)


def _int(environ: Mapping[str, str] | None, name: str) -> int:
    text = _setting(environ, name)
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: write a whole number of bytes") from None
    if value <= 0:
        raise ConfigError(f"{name}={text!r}: must be positive")
    return value


def _rate(environ: Mapping[str, str] | None, name: str) -> Rate:
    text = _setting(environ, name)
    rate, _, burst = text.partition("/")
    try:
        per_second = float(rate)
        size = int(burst) if burst else max(1, math.ceil(per_second))
    except ValueError:
        raise ConfigError(f"{name}={text!r}: write `<requests per second>` or `<per second>/<burst>`") from None
    if not math.isfinite(per_second) or per_second < 0 or size < 1:
        raise ConfigError(f"{name}={text!r}: the rate must be 0 (off) or positive, the burst at least 1")
    return Rate(per_second, size)


NOTHING_SET: dict[str, str] = {}
MAX_BODY = _int(NOTHING_SET, "RETURNS_MAX_BODY")  # the declared defaults: 512 KiB, 100/s per client (bursts of
PER_CLIENT = _rate(NOTHING_SET, "RETURNS_RATE_PER_CLIENT")  # 1000), 200/s per brand (bursts of 2000)
PER_BRAND = _rate(NOTHING_SET, "RETURNS_RATE_PER_BRAND")


@dataclass(frozen=True)
class Limits:
    max_body: int = MAX_BODY
    per_client: Rate = PER_CLIENT
    per_brand: Rate = PER_BRAND

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """RETURNS_MAX_BODY (bytes), RETURNS_RATE_PER_CLIENT / RETURNS_RATE_PER_BRAND as `<per second>` or
        `<per second>/<burst>` (0 turns a limit off); unset or empty: the declared default."""
        return cls(
            max_body=_int(environ, "RETURNS_MAX_BODY"),
            per_client=_rate(environ, "RETURNS_RATE_PER_CLIENT"),
            per_brand=_rate(environ, "RETURNS_RATE_PER_BRAND"),
        )


class RateLimiter:
    """Token buckets by key, bounded in memory: `take(key)` is 0.0 when allowed, else the seconds to wait."""

    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS) -> None:
        self._rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str) -> float:
        if self._rate.off:
            return 0.0
        now = self._clock()
        tokens, at = self._buckets.pop(key, (float(self._rate.burst), now))
        tokens = min(float(self._rate.burst), tokens + (now - at) * self._rate.per_second)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / self._rate.per_second
