"""A monotonic point in time that a scrape must finish by."""

from __future__ import annotations

import time


class Deadline:
    """Absolute deadline on the monotonic clock.

    Every blocking call a source makes takes its timeout from ``remaining()``,
    so a scrape can never outlive the timeout Prometheus gave it.
    """

    __slots__ = ("_expires_at",)

    def __init__(self, seconds: float) -> None:
        self._expires_at = time.monotonic() + max(0.0, seconds)

    def remaining(self) -> float:
        return max(0.0, self._expires_at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self._expires_at

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f}s)"
