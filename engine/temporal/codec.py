"""Payloads encrypted before they reach Temporal: AES-256-GCM, the key's id in each payload's metadata so keys can
rotate (new payloads use the active key; every key listed still decrypts). Keys come from the environment or a file
outside the repository, never from history or logs.

RETURNS_CODEC_KEYS="2026-12:<base64 32 bytes>,2026-06:<base64 32 bytes>" (the first is active), or
RETURNS_CODEC_KEYS_FILE=/etc/returns/codec-keys with one `<key id> <base64 key>` per line, the first active.

Encryption is a production policy, RETURNS_PAYLOAD_ENCRYPTION: `required` (the default) refuses to start without
keys and refuses any payload that arrives unencrypted (a client configured without the codec, a plaintext
`temporal` CLI input); `optional` (local use: the demo, the tests) encrypts when keys are set and passes
plaintext payloads through.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from engine.errors import ConfigError
from engine.settings.environment import default_of, env_given, env_value
from engine.temporal.converter import DATA_CONVERTER

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


@dataclasses.dataclass(frozen=True)
class CodecKeys:
    """Key id -> 32-byte key; `active` encrypts, all decrypt. Its repr never shows a key."""

    keys: dict[str, bytes] = dataclasses.field(repr=False)
    active: str

    @staticmethod
    def parse(entries: Sequence[tuple[str, str]], source: str) -> CodecKeys:
        keys: dict[str, bytes] = {}
        for key_id, text in entries:
            try:
                key = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise ConfigError(f"{source}: key {key_id!r} is not base64") from None
            if len(key) != 32:
                raise ConfigError(f"{source}: key {key_id!r} has {len(key)} bytes; AES-256 needs 32")
            if key_id in keys:
                raise ConfigError(f"{source}: key id {key_id!r} listed twice")
            keys[key_id] = key
        if not keys:
            raise ConfigError(f"{source}: no key")
        return CodecKeys(keys, entries[0][0])


def load_keys(environ: Mapping[str, str] | None = None) -> CodecKeys | None:
    """The codec's keys, or None when encryption is off (neither variable set)."""
    inline = (env_given("RETURNS_CODEC_KEYS", environ) or "").strip()
    if inline:
        pairs = [item.strip().split(":", 1) for item in inline.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ConfigError("RETURNS_CODEC_KEYS: write `<key id>:<base64 key>`, comma-separated, the active first")
        return CodecKeys.parse([(k.strip(), v.strip()) for k, v in pairs], "RETURNS_CODEC_KEYS")
    path = (env_given("RETURNS_CODEC_KEYS_FILE", environ) or "").strip()
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"RETURNS_CODEC_KEYS_FILE: cannot read {path}: {exc.strerror}") from None
        entries = [tuple(line.split()) for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if any(len(entry) != 2 for entry in entries):
            raise ConfigError(f"{path}: one `<key id> <base64 key>` per line, the active first")
        return CodecKeys.parse([(e[0], e[1]) for e in entries], path)
    return None


def new_key() -> str:
    """A fresh key, base64 (for `returns codec-server --new-key` and the docs)."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


POLICY_VARIABLE = "RETURNS_PAYLOAD_ENCRYPTION"
POLICIES = ("required", "optional")


class PlaintextRefused(ValueError):
    """An unencrypted payload reached a codec that requires encryption."""


def encryption_required(environ: Mapping[str, str] | None = None) -> bool:
    policy = str(env_value(POLICY_VARIABLE, environ)).strip().lower() or default_of(POLICY_VARIABLE)
    if policy not in POLICIES:
        raise ConfigError(f"{POLICY_VARIABLE}={policy!r}: use required (production) or optional (local use)")
    return policy == "required"


def converter_from_env(environ: Mapping[str, str] | None = None) -> DataConverter:
    """The engine's data converter under the environment's policy; ConfigError when encryption is required and
    no key is configured (the process must not start)."""
    keys = load_keys(environ)
    required = encryption_required(environ)
    if required and keys is None:
        raise ConfigError(
            f"payload encryption is required: set RETURNS_CODEC_KEYS or RETURNS_CODEC_KEYS_FILE (`returns "
            f"codec-server --new-key` makes a key), or {POLICY_VARIABLE}=optional for local use"
        )
    return data_converter(keys, strict=required)


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: CodecKeys, *, strict: bool = False) -> None:
        self._keys = keys
        self._strict = strict
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self._keys.active
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            if self._strict:
                raise PlaintextRefused(
                    f"unencrypted payload refused ({POLICY_VARIABLE}=required): send it through the codec server "
                    "(temporal ... --codec-endpoint <codec server> --codec-auth 'Bearer <token>')"
                )
            return payload  # written before encryption was turned on, or encryption is optional
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise ValueError(f"payload encrypted with key {key_id!r}, which is not configured (known: "
                             f"{', '.join(sorted(self._ciphers))})")  # fmt: skip
        clear = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
        return Payload.FromString(clear)


def data_converter(keys: CodecKeys | None, *, strict: bool = False) -> DataConverter:
    """The default converter, encrypting payloads and failure messages (stack traces too) when keys are given;
    `strict`: refusing plaintext payloads."""
    if keys is None:
        return DATA_CONVERTER
    return dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=EncryptionCodec(keys, strict=strict),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
