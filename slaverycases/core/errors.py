"""Domain errors raised by actions; views turn them into clear messages."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the change. The message is shown to the user."""


class TransitionNotAllowed(DomainError):
    pass


class StaleEdit(DomainError):
    """The record changed since the user loaded it: their edit would overwrite someone else's."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "Someone else changed this record while you were working on it. Their change has "
            "been kept. Check the record as it is now and make your change again."
        )


class NotPermitted(DomainError):
    """The actor's role or relationship to the record does not allow this."""
