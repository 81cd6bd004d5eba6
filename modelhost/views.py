import html

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import manager_required
from modelhost.selectors import endpoint_list, job_list_for, job_outputs, reply_list_for
from modelhost.services.jobs import generation_job_cancel, generation_job_resume
from modelhost.services.replies import reply_create, reply_events


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
    """Managers try a model: one prompt, the reply streamed as it is written."""
    endpoints = endpoint_list()
    if request.method == "POST":
        endpoint = get_object_or_404(endpoints, pk=request.POST.get("endpoint"))
        try:
            reply = reply_create(endpoint=endpoint, messages=request.POST.get("prompt", "").strip(),
                                 created_by=request.user)
        except ValidationError as error:
            return render(request, "modelhost/_reply.html", {"error": " ".join(error.messages)})
        return render(request, "modelhost/_reply.html", {"reply": reply})
    return render(request, "modelhost/playground.html", {"endpoints": endpoints})


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
