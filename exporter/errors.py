"""The one error type a source raises when it cannot produce its metrics."""

from __future__ import annotations


class SourceError(Exception):
    """A source failed. ``reason`` is a short, bounded label value for
    ``aura_exporter_source_errors_total``; the message is for humans and must
    never contain a secret."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message
