import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from exports.models import Export
from exports.services import export_create, export_run
from exports.spec import AGGREGATIONS, DEFAULTS, FILETYPES, FORMATS, PAIR_STRATEGIES, STYLES

BAR = 30


def _bar(done: int, total: int, status: str) -> str:
    filled = int(BAR * done / total) if total else BAR
    return f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} judgments  {status:<9}"


class Command(BaseCommand):
    help = ("Export a preference dataset (files and a README.md card) from campaigns. It runs on a default-queue "
            "worker; --wait follows it there, --here runs it in this process.")

    def add_arguments(self, parser):
        parser.add_argument("--campaign", action="append", required=True, help="campaign name (repeatable)")
        parser.add_argument("--format", required=True, choices=list(FORMATS))
        parser.add_argument("--filetype", default=DEFAULTS["filetype"], choices=FILETYPES)
        parser.add_argument("--style", default=DEFAULTS["style"], choices=STYLES)
        parser.add_argument("--aggregate", default=DEFAULTS["aggregate"], choices=list(AGGREGATIONS))
        parser.add_argument("--pairs", default=DEFAULTS["pairs"], choices=list(PAIR_STRATEGIES))
        parser.add_argument("--min-margin", type=float, default=DEFAULTS["min_margin"])
        parser.add_argument("--min-agreement", type=float)
        parser.add_argument("--max-spread", type=float)
        parser.add_argument("--exclude-gold-failures", action="store_true")
        parser.add_argument("--include-gold", action="store_true")
        parser.add_argument("--drop-ties", action="store_true")
        parser.add_argument("--model", action="append", default=[], help="only responses of this model (repeatable)")
        parser.add_argument("--protocol", action="append", default=[], help="only judgments of this protocol")
        parser.add_argument("--since", help="judged at or after (ISO date or date and time)")
        parser.add_argument("--until", help="judged before")
        parser.add_argument("--test-size", type=float, default=DEFAULTS["test_size"])
        parser.add_argument("--split-seed", default=DEFAULTS["split_seed"])
        parser.add_argument("--salt", default=DEFAULTS["salt"], help="pseudonym salt (default: derived from the spec)")
        parser.add_argument("--no-provenance", action="store_true")
        parser.add_argument("--include-rationale", action="store_true")
        parser.add_argument("--license", default=DEFAULTS["license"])
        parser.add_argument("--name", default=DEFAULTS["name"])
        follow = parser.add_mutually_exclusive_group()
        follow.add_argument("--wait", action="store_true", help="show a progress bar until a worker has finished it")
        follow.add_argument("--here", action="store_true", help="run it in this process, with a progress bar")

    def handle(self, *args, **options):
        names = options["campaign"]
        campaigns = dict(Campaign.objects.filter(name__in=names).values_list("name", "pk"))
        unknown = sorted(set(names) - set(campaigns))
        if unknown:
            raise CommandError(f"No campaign named {', '.join(map(repr, unknown))}.")
        spec = {
            "campaigns": sorted(campaigns.values()), "models": options["model"], "protocols": options["protocol"],
            "provenance": not options["no_provenance"],
            **{key: options[key] for key in (
                "format", "filetype", "style", "aggregate", "pairs", "min_margin", "min_agreement", "max_spread",
                "exclude_gold_failures", "include_gold", "drop_ties", "since", "until", "test_size", "split_seed",
                "salt", "include_rationale", "license", "name")},
        }
        try:
            export = export_create(spec=spec, by=None, queue=not options["here"])
        except ValidationError as error:
            raise CommandError(" ".join(f"{key}: {' '.join(messages)}" for key, messages in error.message_dict.items())
                               if hasattr(error, "error_dict") else " ".join(error.messages)) from None
        self.stdout.write(f"Export #{export.pk}: its files will be in {export.directory}")
        if options["here"]:
            export_run(export_id=export.pk, on_progress=lambda done, total: self._draw(done, total, "running"))
        elif options["wait"]:
            self._follow(export)
        else:
            return
        export.refresh_from_db()
        self._draw(export.done, export.total, export.status)
        sys.stdout.write("\n")
        if export.status != Export.Status.DONE:
            raise CommandError(f"Export #{export.pk} ended {export.status}: {export.error}")
        self.stdout.write(f"Wrote {export.rows} rows to {export.directory} (content hash {export.content_hash})")

    def _draw(self, done: int, total: int, status: str) -> None:
        sys.stdout.write(_bar(done, total, status))
        sys.stdout.flush()

    def _follow(self, export: Export) -> None:
        while True:
            export.refresh_from_db()
            self._draw(export.done, export.total, export.status)
            if not export.is_active:
                return
            time.sleep(0.5)
