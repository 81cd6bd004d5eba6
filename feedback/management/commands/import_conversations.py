from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from feedback.services.imports import FORMATS, conversations_import


class Command(BaseCommand):
    help = "Import a chat log (our JSONL, ShareGPT or WildChat layout), all of it or nothing; duplicates are skipped."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=FORMATS, default="auto")
        parser.add_argument("--owner", help="username that owns the conversations (default: the first admin)")
        parser.add_argument("--keep-raw", action="store_true",
                            help="keep the unscrubbed text too (only if the log's consent allows it)")

    def handle(self, *args, file: Path, format: str, owner: str | None, keep_raw: bool, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        users = User.objects.filter(username=owner) if owner else User.objects.filter(is_superuser=True)
        user = users.order_by("pk").first()
        if user is None:
            raise CommandError(f"No user {owner}." if owner else "No admin user: name one with --owner.")
        try:
            result = conversations_import(path=file, owner=user, format=format, consent_raw=keep_raw)
        except ValidationError as error:
            raise CommandError("\n".join(error.messages)) from None
        self.stdout.write(f"{result.created} conversation(s) imported, {result.duplicates} duplicate(s) skipped, "
                          f"{result.lines} line(s) read.")
