"""Push authentication. Rebound publishes no signing scheme, so ours is strict and configurable:
HMAC-SHA256 over `<timestamp>.<raw body>` with a per-brand secret, hex in `X-Rebound-Signature: sha256=<hex>`,
the Unix timestamp in `X-Rebound-Timestamp`, checked against a tolerance window (replays); or a shared bearer token.
Comparisons are constant-time."""

import hashlib
import hmac
from dataclasses import dataclass

from engine.brands import secret_env_name
from engine.errors import AuthError
from engine.settings.environment import env_int, env_value

__all__ = ["AuthPolicy", "secret_env_name", "sign", "verify"]

SIGNATURE_HEADER = "X-Rebound-Signature"
TIMESTAMP_HEADER = "X-Rebound-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True)
class AuthPolicy:
    mode: str = "hmac"  # hmac | bearer
    tolerance_seconds: int = 300

    @classmethod
    def from_env(cls) -> "AuthPolicy":
        return cls(
            mode=str(env_value("REBOUND_AUTH_MODE")),
            tolerance_seconds=env_int("REBOUND_SIGNATURE_TOLERANCE"),
        )


def verify(policy: AuthPolicy, secret: str | None, headers: dict[str, str], body: bytes, now: float) -> None:
    if not secret:
        raise AuthError("no secret configured for this brand")
    if policy.mode == "bearer":
        given = headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {secret}".encode()):
            raise AuthError("bad bearer token")
        return
    signature = headers.get(SIGNATURE_HEADER.lower(), "")
    stamp = headers.get(TIMESTAMP_HEADER.lower(), "")
    if not signature or not stamp:
        raise AuthError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise AuthError(f"{TIMESTAMP_HEADER} is not a Unix timestamp") from None
    if abs(now - timestamp) > policy.tolerance_seconds:
        raise AuthError(f"timestamp outside the {policy.tolerance_seconds}s tolerance (replayed or clock skew)")
    if not hmac.compare_digest(signature.encode(), sign(secret, timestamp, body).encode()):
        raise AuthError("signature does not match")
