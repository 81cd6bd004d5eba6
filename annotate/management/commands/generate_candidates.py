import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from annotate.services.candidates import campaign_candidates_generate
from modelhost.models import GenerationJob, ModelEndpoint


class Command(BaseCommand):
    help = "Generate N candidate responses for every prompt of a campaign on the gpu workers."

    def add_arguments(self, parser):
        parser.add_argument("campaign", help="campaign name")
        parser.add_argument("--n", type=int, default=2, help="samples per prompt and endpoint (default 2)")
        parser.add_argument("--endpoint", action="append", default=[],
                            help="endpoint name (repeatable; default: the default endpoint)")
        parser.add_argument("--max-new-tokens", type=int)
        parser.add_argument("--temperature", type=float)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--wait", action="store_true", help="show a progress bar until the job ends")

    def handle(self, *args, campaign, n, endpoint, max_new_tokens, temperature, seed, wait, **options):
        found = Campaign.objects.filter(name=campaign).first()
        if found is None:
            raise CommandError(f"No campaign named {campaign!r}.")
        endpoints = list(ModelEndpoint.objects.filter(name__in=endpoint))
        if len(endpoints) != len(set(endpoint)):
            raise CommandError(f"Unknown endpoint(s): {sorted(set(endpoint) - {e.name for e in endpoints})}.")
        given = {"max_new_tokens": max_new_tokens, "temperature": temperature}
        params = {name: value for name, value in given.items() if value is not None}
        try:
            job = campaign_candidates_generate(campaign=found, endpoints=endpoints, n=n, params=params, seed=seed)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Job #{job.pk}: {job.total} outputs queued on the gpu workers.")
        if wait:
            self._follow(job)

    def _follow(self, job: GenerationJob) -> None:
        while True:
            job.refresh_from_db()
            filled = int(30 * job.done / job.total) if job.total else 30
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {job.done}/{job.total} "
                             f"{job.tokens_per_second:6.1f} tok/s  {job.status:<9}")
            sys.stdout.flush()
            if not job.is_active:
                sys.stdout.write("\n")
                break
            time.sleep(0.5)
        if job.status != GenerationJob.Status.DONE:
            raise CommandError(f"Job #{job.pk} ended {job.status}: {job.error}")
