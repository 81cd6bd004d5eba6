from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from annotate.services.exchange import judgments_import


class Command(BaseCommand):
    help = "Import judgments in the exchange format (JSONL) into an existing campaign, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="JSONL, one judgment a line (see annotate/services/exchange.py)")
        parser.add_argument("--campaign", required=True, help="campaign name")

    def handle(self, *args, file, campaign, **options):
        found = Campaign.objects.filter(name=campaign).first()
        if found is None:
            raise CommandError(f"No campaign named {campaign!r}; create it first.")
        try:
            with file.open(encoding="utf-8-sig", newline="\n") as lines:
                counts = judgments_import(campaign=found, lines=lines)
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        except ValidationError as error:
            raise CommandError(f"{file} was not imported:\n" + "\n".join(error.messages)) from None
        self.stdout.write(", ".join(f"{count} {name}" for name, count in counts.items()))
