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


class ServiceWordsValidator:
    """Refuse passwords built on words an attacker would try first here: force names and
    codes, the service's name and the words of its subject."""

    WORDS = ("slavery", "slaverycases", "police", "trafficking", "password", "modern")

    def validate(self, password: str, user: object = None) -> None:
        from slaverycases.accounts.models import Force

        lowered = password.lower()
        words = list(self.WORDS)
        for code, name in Force.objects.values_list("code", "name"):
            words.append(code.lower())
            words.extend(part for part in name.lower().split() if len(part) >= 4)
        words = [w for w in words if len(w) >= 3]
        hit = next((w for w in words if w in lowered), None)
        if hit is not None:
            raise ValidationError(
                "Password must not contain the name of a force or words like 'police'",
                code="password_service_word",
            )

    def get_help_text(self) -> str:
        return "Your password cannot contain force names or words like 'police'."
