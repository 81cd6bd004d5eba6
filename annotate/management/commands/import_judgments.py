from pathlib import Path

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import manager_named
from annotate.models import Campaign
from annotate.services.exchange import campaign_import, judgments_import


class Command(BaseCommand):
    help = ("Import judgments in the exchange format (JSONL) into a campaign, all or nothing; --create makes the "
            "campaign first when it is missing, with the design the file implies.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="JSONL, one judgment a line (see annotate/services/exchange.py)")
        parser.add_argument("--campaign", required=True, help="campaign name")
        parser.add_argument("--create", action="store_true", help="create the campaign when it does not exist")
        parser.add_argument("--design", choices=[design for design, _ in Campaign.DESIGNS],
                            help="with --create: the design (default: one protocol is its own design, ratings and "
                                 "comparisons are rank_vs_rate)")
        parser.add_argument("--manager", help="with --create: who manages it (default: the first admin)")

    def handle(self, *args, file, campaign, create, design, manager, **options):
        found = Campaign.objects.filter(name=campaign).first()
        if found is None and not create:
            raise CommandError(f"No campaign named {campaign!r}; create it first, or pass --create.")
        try:
            with file.open(encoding="utf-8-sig", newline="\n") as lines:
                if create:
                    found, counts = campaign_import(creator=manager_named(username=manager), name=campaign,
                                                    lines=lines, design=design)
                else:
                    counts = judgments_import(campaign=found, lines=lines)
        except (OSError, UnicodeDecodeError, ObjectDoesNotExist, PermissionDenied) as error:
            raise CommandError(f"Cannot import {file}: {error}") from None
        except ValidationError as error:
            raise CommandError(f"{file} was not imported:\n" + "\n".join(error.messages)) from None
        self.stdout.write(f"{found.name} ({found.design}): " + ", ".join(f"{count} {name}"
                                                                         for name, count in counts.items()))
