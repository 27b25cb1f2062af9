"""In-process network block, for where the sandbox has no network namespace (macOS).

Connecting or sending to anything but a loopback address raises
``PermissionError``. It is installed before the submission is imported; it is a
speed bump, not a wall (the README's threat model says so): code that reaches
for ``_socket`` directly is not stopped.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

__all__ = ["install"]


def _loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):
        return True  # AF_UNIX paths stay local
    if not (isinstance(address, tuple) and address):
        return False
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(address: Any) -> None:
    raise PermissionError(f"network access to {address!r} is disabled while grading")


def install() -> None:
    """Patch ``socket.socket`` so only loopback peers can be reached (idempotent)."""
    cls: Any = socket.socket
    if getattr(cls, "_grader_guarded", False):
        return
    connect, connect_ex, sendto = cls.connect, cls.connect_ex, cls.sendto

    def guarded_connect(self: Any, address: Any) -> Any:
        if not _loopback(address):
            _refuse(address)
        return connect(self, address)

    def guarded_connect_ex(self: Any, address: Any) -> Any:
        if not _loopback(address):
            _refuse(address)
        return connect_ex(self, address)

    def guarded_sendto(self: Any, data: Any, *args: Any) -> Any:
        if not _loopback(args[-1]):
            _refuse(args[-1])
        return sendto(self, data, *args)

    cls.connect, cls.connect_ex, cls.sendto = guarded_connect, guarded_connect_ex, guarded_sendto
    cls._grader_guarded = True
