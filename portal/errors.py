"""Errors the services raise when a rule refuses an action.

Views turn them into a form error or a flash message; the message is already translated for the
person who asked, so it can be shown as it is.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the portal refused the action; nothing was changed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class NotAllowed(DomainError):
    """The actor may not do this."""


class InvalidToken(DomainError):
    """A signed link is forged, expired, already used or no longer matches the account."""


class Conflict(DomainError):
    """The action collides with the current state (an address already taken, a stale edit)."""


class InvalidTransition(DomainError):
    """The object is not in a state that allows this move."""
