from pathlib import Path

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import manager_named
from annotate.models import Campaign
from annotate.services.campaigns import campaign_ensure


class Command(BaseCommand):
    help = ("Create a campaign without the browser. Running it again is fine when the campaign has the settings "
            "given; other settings are an error, never a change.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--design", required=True, choices=[design for design, _ in Campaign.DESIGNS])
        parser.add_argument("--overlap", type=int, help="distinct annotators per item")
        parser.add_argument("--responses-per-item", type=int, help="responses per compared item (2 for pairwise)")
        parser.add_argument("--side-by-side", dest="rate_alone", action="store_false", default=None,
                            help="rate responses side by side instead of each alone")
        parser.add_argument("--guidelines", type=Path, help="a Markdown file shown inside every task")
        parser.add_argument("--manager", help="who creates and manages it (default: the first admin)")

    def handle(self, *args, name, design, guidelines, manager, **options):
        fields = {key: options[key] for key in ("overlap", "responses_per_item", "rate_alone")
                  if options[key] is not None}
        try:
            if guidelines is not None:
                fields["guidelines"] = guidelines.read_text(encoding="utf-8")
            campaign, created = campaign_ensure(creator=manager_named(username=manager), name=name, design=design,
                                                **fields)
        except (OSError, UnicodeDecodeError, ObjectDoesNotExist, PermissionDenied) as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{'Created' if created else 'Already there:'} campaign {campaign.name!r} "
                          f"(id {campaign.pk}, {campaign.design}).")
