"""Exceptions shared by the plugin and the suite-facing API."""

from __future__ import annotations

__all__ = ["KataFailure"]


class KataFailure(AssertionError):
    """A check failed; the message is written for the learner."""
