import html

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import manager_required
from modelhost.forms import PlaygroundForm
from modelhost.selectors import endpoint_list, job_list_for, job_outputs, reply_list_for
from modelhost.services.jobs import generation_job_cancel, generation_job_resume
from modelhost.services.replies import (
    reply_create,
    reply_events,
    reply_follow_up,
    reply_long_prompt_note,
    reply_stop,
)


@manager_required
def job_list(request):
    return render(request, "modelhost/job_list.html", {"jobs": job_list_for(user=request.user)[:100]})


@manager_required
def job_detail(request, job_id: int):
    job = get_object_or_404(job_list_for(user=request.user), pk=job_id)
    template = "modelhost/_job_progress.html" if request.htmx else "modelhost/job_detail.html"
    return render(request, template, {"job": job, "outputs": job_outputs(job=job)[:50]})


@manager_required
@require_POST
def job_cancel(request, job_id: int):
    generation_job_cancel(job=get_object_or_404(job_list_for(user=request.user), pk=job_id))
    return redirect("modelhost:job_detail", job_id=job_id)


@manager_required
@require_POST
def job_resume(request, job_id: int):
    generation_job_resume(job=get_object_or_404(job_list_for(user=request.user), pk=job_id))
    return redirect("modelhost:job_detail", job_id=job_id)


@manager_required
def playground(request):
    """Managers try a model: a chat whose replies stream as they are written, with sampling values and a stop
    button. Each turn names the reply it follows (`parent`), so the model reads the whole conversation."""
    endpoints = endpoint_list()
    if request.method != "POST":
        return render(request, "modelhost/playground.html", {"endpoints": endpoints, "form": PlaygroundForm()})
    endpoint = get_object_or_404(endpoints, pk=request.POST.get("endpoint"))
    form = PlaygroundForm(request.POST)
    if not form.is_valid():
        return render(request, "modelhost/_turn.html", {"error": " ".join(form.error_list())})
    prompt, parent_id = form.cleaned_data["prompt"], form.cleaned_data["parent"]
    try:
        messages = prompt
        if parent_id is not None:
            parent = get_object_or_404(reply_list_for(user=request.user), pk=parent_id)
            messages = reply_follow_up(parent=parent, prompt=prompt)
        reply = reply_create(endpoint=endpoint, messages=messages, params=form.params(), created_by=request.user)
    except ValidationError as error:
        return render(request, "modelhost/_turn.html", {"error": " ".join(error.messages)})
    return render(request, "modelhost/_turn.html", {
        "reply": reply, "prompt": prompt,
        "note": reply_long_prompt_note(endpoint=endpoint, messages=reply.messages)})


@manager_required
@require_POST
def reply_stop_view(request, reply_id: int):
    reply = get_object_or_404(reply_list_for(user=request.user), pk=reply_id)
    stopped = reply_stop(reply=reply)
    return HttpResponse('<p class="muted stopped">Stopped.</p>' if stopped else "")


def _sse(event: str, data: str) -> str:
    # Escaped for htmx to swap in as HTML; newlines kept as entities inside a pre-wrap box.
    body = html.escape(data).replace("\r", "").replace("\n", "&#10;")
    return f"event: {event}\ndata: {body}\n\n"


@login_required
def reply_stream(request, reply_id: int):
    reply = get_object_or_404(reply_list_for(user=request.user), pk=reply_id)
    response = StreamingHttpResponse(
        (_sse(event, data) for event, data in reply_events(reply=reply)), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
