"""The one error type of the probe: a problem with the user's input (exit 2, one line)."""

from __future__ import annotations


class ProbeError(Exception):
    """Bad input to the probe: an unloadable target, a failing forward pass, a missing device.
    The message is one line meant for the user; ``hint`` is an optional suggestion."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
