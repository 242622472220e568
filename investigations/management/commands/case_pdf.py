"""Write a case summary PDF from the command line, with the same access checks and the same
audit row as the web page.

    manage.py case_pdf GMP-2026-000001 --user officer.gmp --output case.pdf \
        [--redacted] [--recipient "CPS North West"] [--justification "Charging file"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from investigations import access
from investigations.pdf import Variant, investigation_print, may_print
from slaverycases.accounts.models import User
from slaverycases.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Write the case summary PDF of an investigation, checked and audited as a disclosure "
        "by USERNAME exactly as when printed from the case page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="The investigation reference, e.g. GMP-2026-000001")
        parser.add_argument("--output", "-o", required=True, help="The PDF file to write")
        parser.add_argument("--user", required=True, help="Username of the person printing")
        parser.add_argument(
            "--redacted", action="store_true", help="Victims by label only (Victim A, ...)"
        )
        parser.add_argument(
            "--recipient",
            default="",
            help="Who the summary is for (recorded in the audit log; default: the user, for "
            "their own use)",
        )
        parser.add_argument(
            "--justification",
            default="",
            help="Why it is needed (recorded in the audit log)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["user"], is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user {options['user']!r}.") from None
        try:
            investigation = access.get_investigation_for_user(user, options["reference"])
        except Http404:
            raise CommandError(
                f"No investigation {options['reference']} that {user.username} may see."
            ) from None
        if not may_print(user, investigation):
            raise CommandError(f"{user.username}'s role cannot print case summaries.")
        output = Path(options["output"])
        recipient = options["recipient"].strip() or f"{user.display_name} (own use, command line)"
        justification = (
            options["justification"].strip()
            or f"Printed from the command line to {output.name}; no justification given"
        )
        variant = Variant.REDACTED if options["redacted"] else Variant.FULL
        try:
            pdf = investigation_print(
                investigation,
                actor=user,
                variant=variant,
                recipient=recipient,
                justification=justification,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        output.write_bytes(pdf)
        self.stdout.write(
            f"Wrote {output} ({len(pdf) // 1024} KB, {variant.label.lower()}); disclosure to "
            f"{recipient} recorded in the audit log."
        )
