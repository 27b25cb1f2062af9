"""The result channel between the child and the parent.

The child writes one line per message on a dedicated pipe: an HMAC-SHA256 of
the JSON payload under a key the parent sent on the child's stdin (read and
discarded before the submission is imported), a space, the JSON. The parent
accepts only lines whose MAC verifies, so printing a fake summary, or writing
to the pipe without the key, cannot forge a result; it is reported instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

__all__ = ["MAX_LINE", "decode", "encode", "new_key"]

MAX_LINE = 1 << 20


def new_key() -> bytes:
    return os.urandom(32).hex().encode()


def encode(key: bytes, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    return mac + b" " + body + b"\n"


def decode(key: bytes, line: bytes) -> dict[str, Any] | None:
    """The payload of a verified line, or ``None`` for anything forged or garbled."""
    mac, _, body = line.rstrip(b"\n").partition(b" ")
    good = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(mac, good):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
