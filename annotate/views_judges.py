"""Manager pages of AI judges: start a judge run on a campaign, follow its progress, set the routing rule."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import manager_required
from annotate.access import campaign_to_manage
from annotate.forms import JudgeRunForm, RoutingForm
from annotate.models import Campaign, JudgeRun
from annotate.selectors.judges import judge_run_get, judge_runs_for
from annotate.services.judges import judge_run_create
from annotate.services.routing import campaign_routing_set

RUNS_SHOWN = 5


def judges_context(*, campaign: Campaign, user) -> dict:
    """What the campaign page shows of its AI judges."""
    return {
        "judge_runs": judge_runs_for(campaign=campaign, user=user)[:RUNS_SHOWN],
        "judge_form": JudgeRunForm(),
        "routing_form": RoutingForm(initial={"routing": campaign.routing,
                                             "routing_threshold": campaign.routing_threshold}),
        "kept_from_people": campaign.items.filter(to_people=False, is_gold=False).count(),
    }


def _back(campaign: Campaign):
    return redirect(reverse("annotate:manage_campaign", args=[campaign.pk]) + "#judges")


@manager_required
@require_POST
def manage_judge_start(request, campaign_id: int):
    campaign = campaign_to_manage(user=request.user, campaign_id=campaign_id)
    form = JudgeRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.error_list()))
        return _back(campaign)
    try:
        run = judge_run_create(campaign=campaign, by=request.user, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{run.judge.username} is judging {run.total} items.")
    return _back(campaign)


@manager_required
def manage_judge_run(request, run_id: int):
    """A run's progress bar (polled by htmx while it runs)."""
    try:
        run = judge_run_get(run_id=run_id, user=request.user)
    except JudgeRun.DoesNotExist:
        raise Http404("No such judge run.") from None
    return render(request, "annotate/_judge_run.html", {"run": run})


@manager_required
@require_POST
def manage_routing(request, campaign_id: int):
    campaign = campaign_to_manage(user=request.user, campaign_id=campaign_id)
    form = RoutingForm(request.POST)
    if form.is_valid():
        try:
            kept = campaign_routing_set(campaign=campaign, routing=form.cleaned_data["routing"],
                                        threshold=form.cleaned_data["routing_threshold"], by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Routing saved: {kept} item{'s' if kept != 1 else ''} kept from people.")
    else:
        messages.error(request, " ".join(form.error_list()))
    return _back(campaign)
