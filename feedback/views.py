"""Manager pages: conversations (chat API and imported logs side by side), log upload, feedback signals and mining."""

import uuid
from datetime import datetime, time

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import manager_required
from core.runs import run_cancel
from feedback.forms import ConversationFilterForm, ImportForm, MiningForm
from feedback.plots import signal_plots
from feedback.selectors import (
    conversation_filter,
    conversation_list_for,
    conversation_messages,
    conversation_tree,
    import_list_for,
    mining_run_list_for,
    signal_versions,
    signals_dashboard,
)
from feedback.services.imports import conversation_import_create, conversations_import
from feedback.services.mining import mining_run_create


def _day(value, *, end: bool = False) -> datetime | None:
    if value is None:
        return None
    return timezone.make_aware(datetime.combine(value, time.max if end else time.min))


@manager_required
def conversation_list(request):
    form = ConversationFilterForm(request.GET or None)
    conversations = conversation_list_for(user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        conversations = conversation_filter(conversations, source=data["source"], model=data["model"],
                                            has_feedback=data["has_feedback"], since=_day(data["since"]),
                                            until=_day(data["until"], end=True))
    page = Paginator(conversations, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "feedback/conversation_list.html",
                  {"form": form, "page": page, "query": query.urlencode()})


@manager_required
def conversation_detail(request, conversation_id: int):
    conversation = get_object_or_404(conversation_list_for(user=request.user), pk=conversation_id)
    rows = conversation_tree(messages=conversation_messages(conversation=conversation))
    return render(request, "feedback/conversation_detail.html", {"conversation": conversation, "rows": rows})


@manager_required
def import_upload(request):
    """Small files are imported at once; larger ones by a task on the default queue, with a progress row."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        folder = settings.MEDIA_ROOT / "imports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.jsonl"
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        if upload.size > settings.FEEDBACK_IMPORT_INLINE_BYTES:
            conversation_import_create(path=path, filename=upload.name, format=form.cleaned_data["format"],
                                       by=request.user)
            messages.info(request, f"{upload.name} is being imported; its progress shows below.")
            return redirect("feedback:import_upload")
        try:
            result = conversations_import(path=path, owner=request.user, format=form.cleaned_data["format"])
        except ValidationError as error:
            form.add_error("file", error)
        else:
            messages.success(request, f"{result.created} conversation(s) imported from {upload.name}, "
                                      f"{result.duplicates} duplicate(s) skipped.")
            return redirect("feedback:conversation_list")
        finally:
            path.unlink()  # the raw log is not kept
    imports = import_list_for(user=request.user)[:20]
    template = "feedback/_imports.html" if request.htmx else "feedback/import_upload.html"
    return render(request, template, {"form": form, "imports": imports,
                                      "polling": any(run.status in ("queued", "running") for run in imports)})


def _runs(user) -> dict:
    runs = list(mining_run_list_for(user=user)[:10])
    return {"runs": runs, "polling": any(run.is_active for run in runs)}


@manager_required
def signals_page(request):
    """The signals dashboard of one classifier version (the newest by default), the mining form and recent runs.
    htmx polls it for the runs' progress only."""
    if request.htmx:
        return render(request, "feedback/_mining_runs.html", _runs(request.user))
    versions = signal_versions()
    version = request.GET.get("version") or (versions[0] if versions else "")
    context = {"form": MiningForm(), "versions": versions, **_runs(request.user)}
    if version in versions:
        dashboard = signals_dashboard(user=request.user, version=version)
        context.update(dashboard=dashboard, plots=signal_plots(dashboard))
    return render(request, "feedback/signals.html", context)


@manager_required
@require_POST
def mining_start(request):
    form = MiningForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            run = mining_run_create(by=request.user, source=data["source"], since=_day(data["since"]),
                                    endpoint=data["endpoint"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.info(request, f"Mining run #{run.pk} queued; its progress shows below.")
    else:
        messages.error(request, "Check the mining form: " + form.errors.as_text())
    return redirect("feedback:signals")


@manager_required
@require_POST
def mining_cancel(request, run_id: int):
    """Stop a run; the labels and pairs it made so far stay, and the next run carries on from them."""
    run_cancel(run=get_object_or_404(mining_run_list_for(user=request.user), pk=run_id))
    return redirect("feedback:signals")
