"""Browser UI: consent, the interview (streamed over SSE with htmx), votes, and the manager's pages.

Participants reach the deliberations of campaigns they are members of, managers those of campaigns they manage;
anything else is a 404.
"""

import html
import json
import uuid
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from accounts.access import manager_required
from annotate.access import campaign_to_manage, campaigns_managed_by
from annotate.moralgraph.conf import COMPAT_MODES
from annotate.moralgraph.models import (
    Answer,
    CardVersion,
    Context,
    DedupProposal,
    Deliberation,
    Interview,
    Message,
    UpgradeStory,
    ValuesCard,
)
from annotate.moralgraph.plot import graph_svg
from annotate.moralgraph.selectors import (
    dedup_checks_open,
    dedup_verdicts,
    deliberation_managed_by,
    deliberation_visible_to,
    graph_build,
    graph_cards,
    graph_graphml,
    interview_of,
    participant_of,
    participant_position,
    survey_summary,
    vote_draw,
)
from annotate.moralgraph.services.cards import card_text_strip, card_update
from annotate.moralgraph.services.dedup import (
    card_split,
    cards_merge,
    dedup_ask_model,
    dedup_check_submit,
    dedup_propose,
    dedup_reject,
)
from annotate.moralgraph.services.deliberations import (
    context_add,
    context_approve,
    context_reject,
    contexts_from_reply,
    contexts_propose,
    deliberation_create,
    participant_consent,
    participant_survey_submit,
)
from annotate.moralgraph.services.interviews import (
    interview_reply,
    interview_reply_finish,
    interview_retry,
    interview_start,
    interview_submit,
)
from annotate.moralgraph.services.pairs import pairs_to_campaign
from annotate.moralgraph.services.votes import stories_build, stories_write, vote_submit
from modelhost.models import StreamedReply
from modelhost.selectors import reply_list_for
from modelhost.services.replies import reply_events

# --- participants ------------------------------------------------------------------------------------------------


def _deliberation(request, deliberation_id: int) -> Deliberation:
    return get_object_or_404(deliberation_visible_to(user=request.user), pk=deliberation_id)


def _participant(request, deliberation: Deliberation):
    participant = participant_of(deliberation=deliberation, user=request.user)
    if participant is None or participant.consented_at is None:
        raise Http404("Consent first.")
    return participant


def _flashing(request, service, **kwargs):
    """Call a service for a form post; a refusal becomes an error message on the next page, and None is returned."""
    try:
        return service(**kwargs)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return None


@login_required
def deliberation_list(request):
    return render(request, "moralgraph/list.html", {
        "deliberations": deliberation_visible_to(user=request.user),
        "managed": deliberation_managed_by(user=request.user) if request.user.is_manager else [],
        "campaigns": campaigns_managed_by(user=request.user) if request.user.is_manager else [],
    })


@login_required
def deliberation_detail(request, deliberation_id: int):
    deliberation = _deliberation(request, deliberation_id)
    participant = participant_of(deliberation=deliberation, user=request.user)
    interviews = participant.interviews.select_related("card") if participant else []
    return render(request, "moralgraph/detail.html", {
        "deliberation": deliberation, "participant": participant, "interviews": interviews,
        "merged": dedup_checks_open(participant=participant) if participant else [], "answers": Answer.choices})


@login_required
@require_POST
def consent(request, deliberation_id: int):
    deliberation = _deliberation(request, deliberation_id)
    if request.POST.get("agree") != "yes":
        messages.error(request, "Tick the box to take part.")
    else:
        participant_consent(deliberation=deliberation, user=request.user)
    return redirect("moralgraph:detail", deliberation_id=deliberation.pk)


@login_required
@require_POST
def interview_new(request, deliberation_id: int):
    participant = _participant(request, _deliberation(request, deliberation_id))
    return redirect("moralgraph:interview", interview_id=interview_start(participant=participant).pk)


def _interview(request, interview_id: int) -> Interview:
    interview = get_object_or_404(interview_of(user=request.user), pk=interview_id)
    _deliberation(request, interview.participant.deliberation_id)  # still a member of the campaign
    return interview


def _card_context(interview: Interview, *, form: dict | None = None, errors: dict | None = None) -> dict:
    card = getattr(interview, "card", None) if interview.pk else None
    if form is None and card is not None:
        form = {"title": card.title, "description": card.description, "policies": "\n".join(card.policies)}
    return {"interview": interview, "card": card, "form": form or {}, "errors": errors or {},
            "version": card.versions.last() if card else None, "answers": Answer.choices}


@login_required
def interview_detail(request, interview_id: int):
    interview = _interview(request, interview_id)
    turns = [{"message": message, "text": card_text_strip(message.content)} for message in interview.messages.all()]
    return render(request, "moralgraph/interview.html", {
        "deliberation": interview.participant.deliberation, "turns": turns, **_card_context(interview)})


@login_required
@require_POST
def message_send(request, interview_id: int):
    interview = _interview(request, interview_id)
    text = request.POST.get("text", "")
    try:
        message = interview_reply(interview=interview, text=text, by=request.user)
    except ValidationError as error:
        return render(request, "moralgraph/_turn_error.html", {"error": " ".join(error.messages)})
    return render(request, "moralgraph/_turns.html", {"user_text": text.strip(), "message": message})


def _sse(event: str, markup: str) -> str:
    """One SSE event; its data is one line of HTML for htmx to swap in."""
    return f"event: {event}\ndata: {markup.replace(chr(13), '').replace(chr(10), ' ')}\n\n"


def _piece(text: str) -> str:
    # Escaped model text; newlines kept as entities inside a pre-wrap box.
    return html.escape(text).replace("\r", "").replace("\n", "&#10;")


def _stream_response(events) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@login_required
def message_stream(request, message_id: int):
    """The interviewer's reply as it is written, then its card (if it proposed one) or a retry button."""
    message = get_object_or_404(Message.objects.select_related("reply", "interview"), pk=message_id,
                                interview__participant__user=request.user, reply__isnull=False)

    def events():
        for event, data in reply_events(reply=message.reply):
            if event == "token":
                yield _sse("token", _piece(data))
        card_changed = interview_reply_finish(message=message)
        message.refresh_from_db()
        if card_changed:
            yield _sse("card", "")
        yield _sse("status", render_to_string("moralgraph/_status.html", {"message": message}))
        yield _sse("done", "")

    return _stream_response(events())


@login_required
@require_POST
def message_retry(request, message_id: int):
    message = get_object_or_404(Message, pk=message_id, interview__participant__user=request.user)
    try:
        message = interview_retry(message=message, by=request.user)
    except ValidationError as error:
        return render(request, "moralgraph/_turn_error.html", {"error": " ".join(error.messages)})
    return render(request, "moralgraph/_assistant.html", {"message": message})


@login_required
def card_panel(request, interview_id: int):
    """GET: the card as it is now. POST: the participant's own edit, always possible while the interview is open."""
    interview = _interview(request, interview_id)
    if request.method != "POST":
        return render(request, "moralgraph/_card.html", _card_context(interview))
    form = {name: request.POST.get(name, "") for name in ("title", "description", "policies")}
    try:
        card_update(interview=interview, title=form["title"], description=form["description"],
                    policies=form["policies"].splitlines(), source=CardVersion.Source.PARTICIPANT)
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        return render(request, "moralgraph/_card.html", _card_context(interview, form=form, errors=errors))
    interview.refresh_from_db()
    return render(request, "moralgraph/_card.html", {**_card_context(interview), "saved": True})


@login_required
@require_POST
def interview_done(request, interview_id: int):
    interview = _interview(request, interview_id)
    if _flashing(request, interview_submit, interview=interview, by=request.user,
                 card_captures=request.POST.get("card_captures", "")) is None:
        return redirect("moralgraph:interview", interview_id=interview.pk)
    messages.success(request, "Your values card is in. Now judge some pairs of values.")
    return redirect("moralgraph:vote", deliberation_id=interview.participant.deliberation_id)


def _vote_context(participant, **extra) -> dict:
    stories = vote_draw(participant=participant, size=1)
    return {"deliberation": participant.deliberation, "participant": participant,
            "story": stories[0] if stories else None, "voted": participant.votes.count(),
            "client_key": uuid.uuid4().hex, "answers": Answer.choices,
            "positions": [] if stories else participant_position(participant=participant), **extra}


@login_required
def vote_page(request, deliberation_id: int):
    participant = _participant(request, _deliberation(request, deliberation_id))
    template = "moralgraph/_vote.html" if request.htmx else "moralgraph/vote.html"
    return render(request, template, _vote_context(participant))


@login_required
@require_POST
def vote_send(request, deliberation_id: int, story_id: int):
    deliberation = _deliberation(request, deliberation_id)
    participant = _participant(request, deliberation)
    story = get_object_or_404(UpgradeStory.objects.select_related("context", "from_card", "to_card"), pk=story_id,
                              context__deliberation=deliberation)
    try:
        _, created = vote_submit(participant=participant, story=story, by=request.user,
                                 relationship=request.POST.get("relationship", ""),
                                 comment=request.POST.get("comment", ""),
                                 client_key=request.POST.get("client_key", ""))
    except ValidationError as error:
        return render(request, "moralgraph/_vote.html", {**_vote_context(participant), "story": story,
                                                         "error": " ".join(error.messages)})
    return render(request, "moralgraph/_vote.html",
                  _vote_context(participant, notice="Saved." if created else "Already saved."))


@login_required
@require_POST
def dedup_check(request, deliberation_id: int, card_id: int):
    deliberation = _deliberation(request, deliberation_id)
    participant = _participant(request, deliberation)
    card = get_object_or_404(ValuesCard.objects.select_related("interview", "canonical"), pk=card_id,
                             interview__participant=participant)
    _flashing(request, dedup_check_submit, participant=participant, card=card,
              answer=request.POST.get("answer", ""), by=request.user)
    return redirect("moralgraph:detail", deliberation_id=deliberation.pk)


@login_required
@require_POST
def survey_send(request, deliberation_id: int):
    participant = _participant(request, _deliberation(request, deliberation_id))
    try:
        participant_survey_submit(participant=participant, graph_fair=request.POST.get("graph_fair", ""),
                                  by=request.user)
    except ValidationError as error:
        return render(request, "moralgraph/_vote.html", _vote_context(participant, error=" ".join(error.messages)))
    return render(request, "moralgraph/_vote.html", _vote_context(participant, notice="Thank you."))


# --- managers ----------------------------------------------------------------------------------------------------


def _managed(request, deliberation_id: int) -> Deliberation:
    if not request.user.is_manager:
        raise Http404
    return get_object_or_404(deliberation_managed_by(user=request.user), pk=deliberation_id)


@manager_required
@require_POST
def manage_create(request):
    campaign = campaign_to_manage(user=request.user, campaign_id=request.POST.get("campaign"))
    deliberation = _flashing(
        request, deliberation_create, campaign=campaign, name=request.POST.get("name", ""),
        question=request.POST.get("question", ""),
        contexts=[line for line in request.POST.get("contexts", "").splitlines() if line.strip()], by=request.user)
    if deliberation is None:
        return redirect("moralgraph:list")
    return redirect("moralgraph:manage", deliberation_id=deliberation.pk)


@login_required
def manage_detail(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    verdicts = dedup_verdicts(deliberation=deliberation)
    return render(request, "moralgraph/manage.html", {
        "deliberation": deliberation, "contexts": deliberation.contexts.all(),
        "cards": graph_cards(deliberation=deliberation).select_related("canonical"),
        "proposals": [(proposal, verdicts.get(proposal.pk, "")) for proposal in DedupProposal.objects.filter(
            card__deliberation=deliberation, status="proposed").select_related("card", "duplicate_of")],
        "participants": deliberation.participants.exclude(consented_at=None).count(),
        "stories": UpgradeStory.objects.filter(context__deliberation=deliberation).count(),
        "campaigns": campaigns_managed_by(user=request.user).filter(design="pairwise"),
        "survey": survey_summary(deliberation=deliberation),
    })


@login_required
@require_POST
def manage_context_add(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    _flashing(request, context_add, deliberation=deliberation, text=request.POST.get("text", ""), by=request.user)
    return redirect("moralgraph:manage", deliberation_id=deliberation.pk)


@login_required
@require_POST
def manage_context_review(request, deliberation_id: int, context_id: int, action: str):
    deliberation = _managed(request, deliberation_id)
    context = get_object_or_404(Context, pk=context_id, deliberation=deliberation)
    if action == "approve":
        context_approve(context=context, by=request.user)
    elif action == "reject":
        _flashing(request, context_reject, context=context, by=request.user)
    else:
        raise Http404
    return redirect("moralgraph:manage", deliberation_id=deliberation.pk)


@login_required
@require_POST
def manage_contexts_propose(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    reply = contexts_propose(deliberation=deliberation, by=request.user)
    return render(request, "moralgraph/_proposal.html", {"deliberation": deliberation, "reply": reply})


@login_required
def manage_proposal_stream(request, deliberation_id: int, reply_id: int):
    """The model's proposal as it is written; its "When ..." lines are then filed as proposed contexts."""
    deliberation = _managed(request, deliberation_id)
    reply = get_object_or_404(reply_list_for(user=request.user), pk=reply_id)

    def events():
        for event, data in reply_events(reply=reply):
            if event == "token":
                yield _sse("token", _piece(data))
        reply.refresh_from_db()
        proposed = (contexts_from_reply(deliberation=deliberation, reply=reply, by=request.user)
                    if reply.status == StreamedReply.Status.DONE else [])
        yield _sse("status", render_to_string("moralgraph/_proposal_status.html",
                                              {"deliberation": deliberation, "proposed": proposed, "reply": reply}))
        yield _sse("done", "")

    return _stream_response(events())


@login_required
@require_POST
def manage_pairs_build(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    made = _flashing(request, stories_build, deliberation=deliberation, by=request.user)
    if made is not None:
        messages.success(request, f"{made} new pairs to vote on.")
    return redirect("moralgraph:manage", deliberation_id=deliberation.pk)


@login_required
@require_POST
def manage_stories_write(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    job = _flashing(request, stories_write, deliberation=deliberation, by=request.user)
    if job is None:
        return redirect("moralgraph:manage", deliberation_id=deliberation.pk)
    messages.success(request, "The model host is writing the stories; once the job is done, press "
                              "\"Make the pairs\" to take them.")
    return redirect("modelhost:job_detail", job_id=job.pk)


@login_required
@require_POST
def manage_pairs_to_campaign(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    campaign = campaign_to_manage(user=request.user, campaign_id=request.POST.get("campaign"))
    counts = _flashing(request, pairs_to_campaign, deliberation=deliberation, campaign=campaign, by=request.user)
    if counts is not None:
        messages.success(request, f"{counts['judgments']} new judgments in {campaign} "
                                  f"({counts['unchanged']} were there already).")
    return redirect("moralgraph:manage", deliberation_id=deliberation.pk)


@login_required
@require_POST
def manage_dedup_propose(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    made = dedup_propose(deliberation=deliberation, by=request.user)
    messages.success(request, f"{made} new near-duplicate pairs proposed.")
    return redirect("moralgraph:manage", deliberation_id=deliberation.pk)


@login_required
@require_POST
def manage_dedup_ask_model(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    job = _flashing(request, dedup_ask_model, deliberation=deliberation, by=request.user)
    if job is None:
        return redirect("moralgraph:manage", deliberation_id=deliberation.pk)
    messages.success(request, "The model host is checking the proposals; its answers show beside them when done.")
    return redirect("modelhost:job_detail", job_id=job.pk)


@login_required
@require_POST
def manage_dedup_review(request, deliberation_id: int, proposal_id: int, action: str):
    deliberation = _managed(request, deliberation_id)
    proposal = get_object_or_404(DedupProposal.objects.select_related("card", "duplicate_of"), pk=proposal_id,
                                 card__deliberation=deliberation)
    if action == "merge":
        _flashing(request, cards_merge, card=proposal.card, into=proposal.duplicate_of, by=request.user)
    elif action == "reject":
        _flashing(request, dedup_reject, proposal=proposal, by=request.user)
    else:
        raise Http404
    return redirect("moralgraph:manage", deliberation_id=deliberation.pk)


@login_required
@require_POST
def manage_card_split(request, deliberation_id: int, card_id: int):
    deliberation = _managed(request, deliberation_id)
    card_split(card=get_object_or_404(ValuesCard, pk=card_id, deliberation=deliberation), by=request.user)
    return redirect("moralgraph:manage", deliberation_id=deliberation.pk)


def _graph_options(request, deliberation: Deliberation) -> dict:
    compat = request.GET.get("compat", "")
    context = request.GET.get("context", "")
    until = request.GET.get("until", "")
    try:
        moment = datetime.fromisoformat(until) if until else None
    except ValueError:
        raise Http404("until is not an ISO 8601 time") from None
    if compat not in ("", *COMPAT_MODES) or (moment is not None and moment.tzinfo is None):
        raise Http404
    return {"deliberation": deliberation, "compat": compat, "context": context or None, "until": moment}


@login_required
def graph_page(request, deliberation_id: int):
    deliberation = _managed(request, deliberation_id)
    options = _graph_options(request, deliberation)
    data = graph_build(**options)
    titles = {value["id"]: value["title"] for value in data["values"]}
    return render(request, "moralgraph/graph.html", {
        **options, "svg": graph_svg(data),
        "edges": [{**edge, "source": titles[edge["sourceValueId"]], "wiser": titles[edge["wiserValueId"]]}
                  for edge in data["edges"]],
        "values": sorted(data["values"], key=lambda value: -value["pagerank"]),
        "contexts": deliberation.contexts.filter(status=Context.Status.APPROVED), "modes": COMPAT_MODES,
        "query": request.GET.urlencode(),
    })


@login_required
def graph_export(request, deliberation_id: int, fmt: str):
    deliberation = _managed(request, deliberation_id)
    data = graph_build(**_graph_options(request, deliberation))
    if fmt == "json":
        response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
    elif fmt == "graphml":
        response = HttpResponse(graph_graphml(data), content_type="application/graphml+xml")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="moral-graph-{deliberation.pk}.{fmt}"'
    return response
