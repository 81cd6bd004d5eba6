"""Browser UI: the annotator's task page (htmx) and the manager's campaign pages.

Annotators reach only the campaigns `campaigns_visible_to` shows them (else 404), managers only those they manage.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.access import manager_required
from annotate.access import campaign_to_manage, campaigns_managed_by, campaigns_visible_to
from annotate.forms import (
    RATING_LABELS,
    SKIP_REASONS,
    STRENGTH_OPTIONS,
    UNSAFE_HELP,
    CampaignCreateForm,
    CampaignEditForm,
    CandidatesGenerateForm,
    FlagForm,
    MembersAddForm,
    PromptsImportForm,
    SkipForm,
    TaskForm,
)
from annotate.models import Assignment, Campaign, Flag, Item
from annotate.protocols import Protocol
from annotate.selectors import (
    ITEM_STATES,
    annotator_progress,
    browse_item,
    browse_items,
    campaign_history,
    campaign_list_for,
    campaign_progress,
)
from annotate.selectors.review import annotator_campaigns, flags_for, judgments_recent_for
from annotate.services.arena import arena_vote_save
from annotate.services.assignments import LeaseLost, assignment_next, assignment_skip, judgment_submit
from annotate.services.campaigns import (
    TRANSITIONS,
    campaign_create,
    campaign_items_build,
    campaign_members_add,
    campaign_members_remove,
    campaign_settings_update,
    campaign_status_set,
)
from annotate.services.candidates import campaign_candidates_generate, campaign_source
from annotate.services.exchange import judgments_export_jsonl
from annotate.services.imports import prompts_import
from annotate.services.review import flag_set, judgment_withdraw
from annotate.views_judges import judges_context
from core.errors import Conflict
from core.selectors import workers_alive
from core.services.audit import audit_record
from modelhost.forms import SamplingForm
from modelhost.selectors import endpoint_list, job_list_for, reply_list_for
from modelhost.services.replies import reply_create

STATUS_ACTIONS = {Campaign.Status.LIVE: "Launch", Campaign.Status.PAUSED: "Pause", Campaign.Status.CLOSED: "Close"}


# --- annotator ---------------------------------------------------------------------------------------------------

@login_required
def home(request):
    """The landing page: the campaigns this user manages (and the workers), or judges in, with their progress."""
    if request.user.is_manager:
        context = {"campaigns": campaign_list_for(user=request.user), "workers": workers_alive()}
    else:
        context = {"judging": annotator_campaigns(user=request.user)}
    return render(request, "annotate/home.html", context)


def _campaign_to_annotate(request, campaign_id: int) -> Campaign:
    return get_object_or_404(campaigns_visible_to(user=request.user), pk=campaign_id)


def _task_form(assignment: Assignment, data=None) -> TaskForm:
    item = assignment.item
    candidates = {candidate.external_id: candidate for candidate in item.candidates.all()}
    return TaskForm(
        data, protocol=assignment.protocol, campaign=item.campaign,
        presented=[candidates[external_id] for external_id in assignment.presented_order],
        canonical_ids=list(item.slots.values_list("candidate__external_id", flat=True)),
        initial={"client_key": uuid.uuid4().hex},
    )


def _render_task(request, campaign: Campaign, *, form: TaskForm | None = None, assignment: Assignment | None = None,
                 notice: str = "", finished: Assignment | None = None):
    """The task panel: the given form (re-shown with its errors) or the annotator's next task."""
    blocked = ""
    if form is None:
        try:
            assignment = assignment_next(campaign=campaign, annotator=request.user)
        except ValidationError as error:  # paused, closed or not yet live
            blocked = " ".join(error.messages)
        form = _task_form(assignment) if assignment else None
    progress = annotator_progress(campaigns=[campaign], annotator=request.user)[campaign.pk]
    # The lease is made when the task is first shown and served again on a reload: the page counts on from it.
    elapsed_ms = int((timezone.now() - assignment.leased_at).total_seconds() * 1000) if assignment else 0
    to_go = progress["remaining"] + (1 if assignment else 0)  # the current task is no longer "open"
    context = {
        "campaign": campaign, "assignment": assignment, "form": form, "notice": notice, "blocked": blocked,
        "finished": finished, "done": progress["done"], "to_go": to_go,
        "percent": int(100 * progress["done"] / (progress["done"] + to_go)) if progress["done"] + to_go else 100,
        "skip_reasons": SKIP_REASONS, "strength_options": STRENGTH_OPTIONS, "rating_labels": RATING_LABELS,
        "unsafe_help": UNSAFE_HELP, "elapsed_ms": max(elapsed_ms, 0),
        "flag_kinds": Flag.Kind.choices, "flag_comment_max": Flag.COMMENT_MAX_LENGTH,
    }
    template = "annotate/_task.html" if request.htmx else "annotate/task.html"
    return render(request, template, context)


@login_required
@vary_on_headers("HX-Request")
def task_page(request, campaign_id: int):
    return _render_task(request, _campaign_to_annotate(request, campaign_id))


def _own_assignment(request, campaign: Campaign, assignment_id: int) -> Assignment:
    return get_object_or_404(
        Assignment.objects.select_related("item__campaign"),
        pk=assignment_id, annotator=request.user, item__campaign=campaign,
    )


@login_required
@require_POST
def task_submit(request, campaign_id: int, assignment_id: int):
    campaign = _campaign_to_annotate(request, campaign_id)
    assignment = _own_assignment(request, campaign, assignment_id)
    form = _task_form(assignment, request.POST)
    if not form.is_valid():
        return _render_task(request, campaign, form=form, assignment=assignment)
    try:
        _, created = judgment_submit(
            assignment_id=assignment.pk, annotator=request.user, answer=form.answer(),
            client_key=form.cleaned_data["client_key"], time_on_task_ms=form.cleaned_data["time_on_task_ms"],
        )
    except LeaseLost:
        notice = ("Your time on that task ran out and others judged it meanwhile, so it was not counted. "
                  "Here is the next one.")
        return _render_task(request, campaign, notice=notice, finished=assignment)
    except ValidationError as error:
        form.add_error(None, error.messages)
        return _render_task(request, campaign, form=form, assignment=assignment)
    notice = "Saved." if created else "Already saved."
    return _render_task(request, campaign, notice=notice, finished=assignment)


@login_required
@require_POST
def task_skip(request, campaign_id: int, assignment_id: int):
    campaign = _campaign_to_annotate(request, campaign_id)
    assignment = _own_assignment(request, campaign, assignment_id)
    form = SkipForm(request.POST)
    if not form.is_valid():
        return _render_task(request, campaign, form=_task_form(assignment), assignment=assignment,
                            notice="Pick a reason to skip.")
    try:
        assignment_skip(assignment_id=assignment.pk, annotator=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        return _render_task(request, campaign, notice=" ".join(error.messages), finished=assignment)
    return _render_task(request, campaign, notice="Skipped.", finished=assignment)


@login_required
@require_POST
def task_flag(request, campaign_id: int, assignment_id: int):
    """Flag the task's item for the managers; the task itself stays as it is (htmx swaps only a status line)."""
    campaign = _campaign_to_annotate(request, campaign_id)
    assignment = _own_assignment(request, campaign, assignment_id)
    form, flag = FlagForm(request.POST), None
    if form.is_valid():
        try:
            flag = flag_set(assignment_id=assignment.pk, annotator=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
    message = f"Flag sent: {flag.get_kind_display()}." if flag else " ".join(form.error_list())
    if request.htmx:  # a refusal goes to the dialog's own error line, which stays open
        response = HttpResponse(message, content_type="text/plain; charset=utf-8")
        if not flag:
            response["HX-Retarget"] = "#flag-error"
        return response
    messages.add_message(request, messages.SUCCESS if flag else messages.ERROR, message)
    return redirect("annotate:task", campaign_id=campaign.pk)


@login_required
def task_review(request, campaign_id: int):
    """The annotator's recent judgments in this campaign, each with a button to change it while it is open."""
    campaign = _campaign_to_annotate(request, campaign_id)
    return render(request, "annotate/review.html", {
        "campaign": campaign, "rows": judgments_recent_for(campaign=campaign, annotator=request.user)})


@login_required
@require_POST
def task_withdraw(request, campaign_id: int, assignment_id: int):
    """Take one's judgment back; the task page then serves that item again to be judged anew."""
    campaign = _campaign_to_annotate(request, campaign_id)
    assignment = _own_assignment(request, campaign, assignment_id)
    try:
        judgment_withdraw(assignment_id=assignment.pk, annotator=request.user)
    except (ValidationError, Conflict) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect("annotate:task_review", campaign_id=campaign.pk)
    messages.success(request, "Your judgment is taken back: judge the item again below.")
    return redirect("annotate:task", campaign_id=campaign.pk)


# --- manager -----------------------------------------------------------------------------------------------------

def _campaign_to_manage(request, campaign_id: int) -> Campaign:
    """With the prompt and item counts that the campaign page shows."""
    return campaign_to_manage(user=request.user, campaign_id=campaign_id,
                              campaigns=campaign_list_for(user=request.user))


@manager_required
def manage_list(request):
    campaigns = campaign_list_for(user=request.user).filter(pk__in=campaigns_managed_by(user=request.user))
    form = CampaignCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(creator=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Created {campaign.name}. Import its prompts next.")
            return redirect("annotate:manage_campaign", campaign_id=campaign.pk)
    return render(request, "annotate/manage_list.html", {"campaigns": campaigns, "form": form})


def _render_manage(request, campaign: Campaign, *, errors: list[str] = (), **forms):
    actions = [(status, "Resume" if campaign.status == Campaign.Status.PAUSED and status == Campaign.Status.LIVE
                else label) for status, label in STATUS_ACTIONS.items() if status in TRANSITIONS[campaign.status]]
    context = {
        "campaign": campaign, "errors": errors, "status_actions": actions,
        "members": campaign.members.order_by("username"),
        "is_member": campaign.members.filter(pk=request.user.pk).exists(),
        "job": job_list_for(user=request.user, source=campaign_source(campaign)).first(),
        "progress": campaign_progress(campaign=campaign),
        "flags": flags_for(user=request.user, campaign=campaign)[:50],
        "members_form": MembersAddForm(), "import_form": PromptsImportForm(),
        "generate_form": CandidatesGenerateForm(campaign=campaign),
        "settings_form": CampaignEditForm(instance=campaign), "history": campaign_history(campaign=campaign),
        **forms, **judges_context(campaign=campaign, user=request.user),
    }
    return render(request, "annotate/manage_campaign.html", context)


@manager_required
def manage_campaign(request, campaign_id: int):
    return _render_manage(request, _campaign_to_manage(request, campaign_id))


@manager_required
@require_POST
def manage_status(request, campaign_id: int):
    campaign = _campaign_to_manage(request, campaign_id)
    try:
        campaign_status_set(campaign=campaign, status=request.POST.get("status", ""), by=request.user)
    except ValidationError as error:
        return _render_manage(request, campaign, errors=error.messages)
    messages.success(request, f"{campaign.name} is {campaign.get_status_display().lower()}.")
    return redirect("annotate:manage_campaign", campaign_id=campaign.pk)


@manager_required
@require_POST
def manage_members_add(request, campaign_id: int):
    campaign = _campaign_to_manage(request, campaign_id)
    form = MembersAddForm(request.POST)
    if form.is_valid():
        try:
            added = campaign_members_add(campaign=campaign, usernames=form.cleaned_data["usernames"], by=request.user)
        except ValidationError as error:
            form.add_error("usernames", error)
        else:
            messages.success(request, f"Added {', '.join(user.username for user in added)}.")
            return redirect("annotate:manage_campaign", campaign_id=campaign.pk)
    return _render_manage(request, campaign, members_form=form)


@manager_required
@require_POST
def manage_members_remove(request, campaign_id: int):
    """Remove the members ticked on the page (`user_ids`)."""
    campaign = _campaign_to_manage(request, campaign_id)
    ids = [value for value in request.POST.getlist("user_ids") if value.isdigit()]
    members = list(campaign.members.filter(pk__in=ids).order_by("username"))
    if not members:
        return _render_manage(request, campaign, errors=["Tick the members to remove first."])
    campaign_members_remove(campaign=campaign, users=members, by=request.user)
    messages.success(request, f"Removed {', '.join(member.username for member in members)}; their judgments stay.")
    return redirect("annotate:manage_campaign", campaign_id=campaign.pk)


@manager_required
@require_POST
def manage_settings(request, campaign_id: int):
    campaign = _campaign_to_manage(request, campaign_id)
    form = CampaignEditForm(request.POST, instance=Campaign.objects.get(pk=campaign.pk))  # the form's own copy
    if form.is_valid():
        try:
            changes = campaign_settings_update(
                campaign=campaign, by=request.user, **{field: form.cleaned_data[field] for field in form.fields})
        except ValidationError as error:
            form.add_error(None, error)
        else:
            changed = ", ".join(field.replace("_", " ") for field in changes) or "nothing"
            messages.success(request, f"Saved the settings (changed: {changed}).")
            return redirect("annotate:manage_campaign", campaign_id=campaign.pk)
    return _render_manage(request, campaign, settings_form=form)


@manager_required
@require_POST
def manage_prompts_import(request, campaign_id: int):
    campaign = _campaign_to_manage(request, campaign_id)
    form = PromptsImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            count = prompts_import(campaign=campaign, file=upload, filename=upload.name)
        except ValidationError as error:
            return _render_manage(request, campaign, import_form=form, errors=error.messages)
        messages.success(request, f"Imported {count} prompt{'s' if count != 1 else ''} from {upload.name}.")
        return redirect("annotate:manage_campaign", campaign_id=campaign.pk)
    return _render_manage(request, campaign, import_form=form)


@manager_required
@require_POST
def manage_candidates_generate(request, campaign_id: int):
    campaign = _campaign_to_manage(request, campaign_id)
    form = CandidatesGenerateForm(request.POST, campaign=campaign)
    if form.is_valid():
        try:
            campaign_candidates_generate(
                campaign=campaign, n=form.cleaned_data["n"], created_by=request.user,
                params={"max_new_tokens": form.cleaned_data["max_new_tokens"]},
            )
        except ValidationError as error:
            return _render_manage(request, campaign, generate_form=form, errors=error.messages)
        messages.success(request, "Generation started. Build items when it is done.")
        return redirect("annotate:manage_campaign", campaign_id=campaign.pk)
    return _render_manage(request, campaign, generate_form=form)


@manager_required
@require_POST
def manage_items_build(request, campaign_id: int):
    campaign = _campaign_to_manage(request, campaign_id)
    created = campaign_items_build(campaign=campaign, by=request.user)
    messages.success(request, f"Built {created} new item{'s' if created != 1 else ''}.")
    return redirect("annotate:manage_campaign", campaign_id=campaign.pk)


@manager_required
def browse(request):
    """The item browser: the items of the campaigns this manager manages, searched and filtered."""
    campaigns = campaigns_managed_by(user=request.user).order_by("name")
    campaign_id = request.GET.get("campaign", "")
    campaign_id = int(campaign_id) if campaign_id.isdigit() else None
    filters = {"query": request.GET.get("q", "").strip()[:200], "state": request.GET.get("state", ""),
               "annotator": request.GET.get("annotator", "").strip()[:150]}
    items = browse_items(user=request.user, campaign_id=campaign_id, **filters)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "annotate/browse.html", {
        "campaigns": campaigns, "campaign_id": campaign_id, "page": page, "states": ITEM_STATES,
        "query_string": query.urlencode(), **filters})


@manager_required
def browse_item_page(request, item_id: int):
    try:
        context = browse_item(user=request.user, item_id=item_id)
    except Item.DoesNotExist:
        raise Http404("No such item among the campaigns you manage.") from None
    return render(request, "annotate/browse_item.html", context)


def _arena_campaigns(request):
    return campaigns_managed_by(user=request.user).filter(design=Protocol.PAIRWISE).exclude(
        status=Campaign.Status.CLOSED).order_by("name")


@manager_required
def arena(request):
    """Two models answer the same prompt side by side; the manager's vote can be kept as a pairwise judgment."""
    endpoints = endpoint_list()
    if request.method != "POST":
        return render(request, "annotate/arena.html", {
            "endpoints": endpoints, "form": SamplingForm(), "campaigns": _arena_campaigns(request)})
    form = SamplingForm(request.POST)
    chosen = [get_object_or_404(endpoints, pk=request.POST.get(side)) for side in ("endpoint_a", "endpoint_b")]
    prompt = request.POST.get("prompt", "").strip()
    if not form.is_valid():
        return render(request, "annotate/_arena.html", {"error": " ".join(form.error_list())})
    try:
        replies = [reply_create(endpoint=endpoint, messages=prompt, params=form.params(), created_by=request.user)
                   for endpoint in chosen]
    except ValidationError as error:
        return render(request, "annotate/_arena.html", {"error": " ".join(error.messages)})
    return render(request, "annotate/_arena.html", {
        "replies": list(zip("AB", replies, strict=True)), "reply_a": replies[0], "reply_b": replies[1],
        "campaigns": _arena_campaigns(request)})


@manager_required
@require_POST
def arena_vote(request):
    replies = reply_list_for(user=request.user)
    reply_a = get_object_or_404(replies, pk=request.POST.get("reply_a"))
    reply_b = get_object_or_404(replies, pk=request.POST.get("reply_b"))
    campaign = campaign_to_manage(user=request.user, campaign_id=request.POST.get("campaign"),
                                  campaigns=_arena_campaigns(request))
    try:
        arena_vote_save(campaign=campaign, by=request.user, reply_a=reply_a, reply_b=reply_b,
                        choice=request.POST.get("choice", ""))
    except ValidationError as error:
        return HttpResponse(f'<p class="error" role="alert">{escape(" ".join(error.messages))}</p>')
    return HttpResponse(f'<p class="flash" role="status">Saved in {escape(campaign.name)} as a pairwise judgment '
                        f'(item arena-{reply_a.pk}-{reply_b.pk}).</p>')


@manager_required
def manage_judgments_export(request, campaign_id: int):
    campaign = _campaign_to_manage(request, campaign_id)
    audit_record(actor=request.user, action="campaign.judgments_download", target=f"campaign {campaign.pk}")
    response = StreamingHttpResponse(judgments_export_jsonl(campaign=campaign), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{slugify(campaign.name) or "campaign"}-judgments.jsonl"'
    return response

