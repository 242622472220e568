from __future__ import annotations

from django.core.exceptions import ValidationError


class MaximumLengthValidator:
    """Passwords may be long (passphrases) but not unbounded: 64 characters at most."""

    def __init__(self, max_length: int = 64) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: object = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"Password must be {self.max_length} characters or fewer",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password can be up to {self.max_length} characters long."
