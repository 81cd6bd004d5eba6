"""The cost of the `groups` (whose preferences) and `properties` report sections, against the report without them
in the same run, on bench.report's synthetic campaign (60 annotators, PostgreSQL).

Gives every annotator a consented profile (age band, region, education, drawn at random; about a fifth answer
nothing) once, then times `campaign_report` with the profiles, without them (the groups section stays empty: the
baseline) and with the property profile.

    .venv/bin/python -m bench.report_groups [--judgments 100000]

DATABASE_URL, default postgres://postgres@127.0.0.1:5432/concord_bench_report (bench.report's database).
"""

import argparse
import time

import numpy as np

from bench.common import django_setup, postgres_create
from bench.report import CAMPAIGN, POSTGRES_URL, campaign_build


def _timed(call) -> tuple[tuple[float, float], dict]:
    """The faster of two runs (the first also warms the database's cache): (wall s, CPU s), and its result. CPU time
    beside wall time: on a shared machine the wall clock also counts waiting for a core."""
    best, result = (np.inf, np.inf), None
    for _ in range(2):
        started, cpu = time.perf_counter(), time.process_time()
        result = call()
        best = min(best, (time.perf_counter() - started, time.process_time() - cpu))
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgments", type=int, default=100_000)
    options = parser.parse_args()
    postgres_create(POSTGRES_URL)
    django_setup(POSTGRES_URL)
    from django.utils import timezone

    from annotate.models import Campaign, Judgment
    from annotate.profiles.models import AGE_BANDS, EDUCATION, REGIONS, Profile
    from annotate.report.metrics.report import campaign_report

    campaign = Campaign.objects.filter(name=CAMPAIGN).first()
    if campaign is None or Judgment.objects.filter(item__campaign=campaign).count() < options.judgments * 0.9:
        if campaign is not None:
            campaign.delete()
        campaign = campaign_build(options.judgments)
    annotators = sorted(set(Judgment.objects.filter(item__campaign=campaign).values_list("annotator_id", flat=True)))
    rng = np.random.default_rng(0)

    def profiles() -> None:
        Profile.objects.filter(user_id__in=annotators).delete()
        Profile.objects.bulk_create([Profile(
            user_id=pk, consented_at=timezone.now(), age_band=str(rng.choice(AGE_BANDS[:4])),
            region=str(rng.choice(REGIONS[:3])), education=str(rng.choice(EDUCATION)),
        ) for pk in annotators if rng.random() > 0.2])

    judgments = Judgment.objects.filter(item__campaign=campaign).count()
    Profile.objects.filter(user_id__in=annotators).delete()
    baseline, _ = _timed(lambda: campaign_report(campaign=campaign))
    profiles()
    grouped, report = _timed(lambda: campaign_report(campaign=campaign))
    with_properties, _ = _timed(lambda: campaign_report(campaign=campaign, properties=True))
    shown = {key: sorted(attribute["agreement"]["pairwise"]["groups"])
             for key, attribute in report["groups"]["attributes"].items() if attribute["agreement"]["pairwise"]}
    print(f"{judgments} judgments, {report['groups']['with_profile']} of {report['groups']['annotators']} "
          f"annotators with a profile")
    print(f"{'':<38}{'wall s':>8}{'CPU s':>8}")
    for label, (wall, cpu) in (("report without profiles (baseline)", baseline),
                               ("report with the groups section", grouped),
                               ("... and the property profile", with_properties)):
        print(f"{label:<38}{wall:>8.2f}{cpu:>8.2f}")
    print(f"pairwise groups shown: {shown}")


if __name__ == "__main__":
    main()
