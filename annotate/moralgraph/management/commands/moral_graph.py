import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from annotate.moralgraph.conf import COMPAT_MODES
from annotate.moralgraph.models import Deliberation
from annotate.moralgraph.selectors import graph_build, graph_graphml


class Command(BaseCommand):
    help = "Print a deliberation's moral graph as JSON (the published field names) or GraphML."

    def add_arguments(self, parser):
        parser.add_argument("--deliberation", required=True, help="Its name.")
        parser.add_argument("--format", choices=["json", "graphml"], default="json")
        parser.add_argument("--compat", choices=COMPAT_MODES, default="",
                            help="Rebuild with a published algorithm exactly (contexts pooled per pair).")
        parser.add_argument("--until", type=datetime.fromisoformat, help="Only votes up to this time (ISO 8601).")
        parser.add_argument("--context", help='Only votes in this context, e.g. "When in distress".')

    def handle(self, *args, **options):
        deliberation = Deliberation.objects.filter(name=options["deliberation"]).first()
        if deliberation is None:
            raise CommandError(f"No deliberation {options['deliberation']!r}.")
        until = options["until"]
        if until is not None and until.tzinfo is None:
            raise CommandError("--until needs a time zone, e.g. 2023-10-10T00:00:00+00:00.")
        data = graph_build(deliberation=deliberation, compat=options["compat"], until=until,
                           context=options["context"])
        self.stdout.write(json.dumps(data, indent=2) if options["format"] == "json" else graph_graphml(data))
