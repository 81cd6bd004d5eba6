"""Managers' pages for dataset exports: start one, follow its progress, download its files.

Files are served only here (and by the API), after the same permission check: never from a static or media URL.
"""

import json

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import manager_required
from annotate.access import campaigns_managed_by
from exports.selectors import export_download_name, export_list_for
from exports.services import export_create, export_file_download
from exports.spec import AGGREGATIONS, DEFAULTS, FILETYPES, FORMATS, PAIR_STRATEGIES, STYLES


def _choices(described) -> list[tuple[str, str]]:
    if isinstance(described, dict):
        return [(key, f"{key}: {text}") for key, text in described.items()]
    return [(key, key) for key in described]


class ExportForm(forms.Form):
    campaigns = forms.ModelMultipleChoiceField(queryset=None)
    format = forms.ChoiceField(choices=_choices(FORMATS))
    filetype = forms.ChoiceField(choices=_choices(FILETYPES), initial=DEFAULTS["filetype"])
    style = forms.ChoiceField(choices=_choices(STYLES), initial=DEFAULTS["style"])
    aggregate = forms.ChoiceField(choices=_choices(AGGREGATIONS), initial=DEFAULTS["aggregate"])
    pairs = forms.ChoiceField(choices=_choices(PAIR_STRATEGIES), initial=DEFAULTS["pairs"],
                              help_text="How a ranked or rated list becomes pairs.")
    min_margin = forms.FloatField(min_value=0, initial=DEFAULTS["min_margin"],
                                  help_text="Score gap a pair needs (strength steps, groups, points).")
    min_agreement = forms.FloatField(min_value=0, max_value=1, required=False,
                                     help_text="Leave out items whose agreement is under this share.")
    max_spread = forms.FloatField(min_value=0, required=False,
                                  help_text="Leave out items whose scores spread more than this (HelpSteer2: 2).")
    exclude_gold_failures = forms.BooleanField(required=False, label="Leave out annotators failing gold items")
    include_gold = forms.BooleanField(required=False, label="Include gold items")
    drop_ties = forms.BooleanField(required=False, label="Leave out judgments that prefer nothing")
    models = forms.CharField(required=False, help_text="Only responses of these models (comma-separated).")
    since = forms.DateTimeField(required=False, help_text="Judged at or after (YYYY-MM-DD or with a time).")
    until = forms.DateTimeField(required=False, help_text="Judged before.")
    test_size = forms.FloatField(min_value=0, max_value=0.5, initial=DEFAULTS["test_size"],
                                 help_text="Share of prompts in the test split.")
    provenance = forms.BooleanField(required=False, initial=True, label="Provenance columns")
    include_rationale = forms.BooleanField(required=False, label="Include written rationales")
    license = forms.CharField(max_length=100, initial=DEFAULTS["license"])
    name = forms.CharField(max_length=200, required=False, help_text="Dataset name on the card.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaigns"].queryset = campaigns_managed_by(user=user).order_by("name")

    def spec(self) -> dict:
        data = dict(self.cleaned_data)
        data["campaigns"] = [campaign.pk for campaign in data["campaigns"]]
        data["models"] = [model.strip() for model in data["models"].split(",") if model.strip()]
        for moment in ("since", "until"):
            data[moment] = data[moment].isoformat() if data[moment] else None
        return data



@manager_required
def export_list(request):
    # ?campaign=<id> (the campaign page's "Export dataset") preselects that campaign
    form = ExportForm(request.POST or None, user=request.user, initial={"campaigns": request.GET.getlist("campaign")})
    if request.method == "POST" and form.is_valid():
        try:
            export = export_create(spec=form.spec(), by=request.user)
        except (PermissionDenied, ValidationError) as error:
            form.add_error(None, " ".join(getattr(error, "messages", [str(error)])))
        else:
            return redirect("exports:detail", export_id=export.pk)
    exports = export_list_for(user=request.user)[:100]
    return render(request, "exports/export_list.html", {"form": form, "exports": exports})


@login_required
def export_detail(request, export_id: int):
    export = get_object_or_404(export_list_for(user=request.user), pk=export_id)
    if request.htmx:
        return render(request, "exports/export_progress.html", {"export": export})
    spec = json.dumps({key: value for key, value in export.spec.items() if key != "salt"}, indent=2, ensure_ascii=False)
    return render(request, "exports/export_detail.html", {"export": export, "spec_json": spec})


@login_required
@require_POST
def export_again(request, export_id: int):
    """The same spec (salt included) again: on unchanged data, byte-identical files."""
    export = get_object_or_404(export_list_for(user=request.user), pk=export_id)
    again = export_create(spec=export.spec, by=request.user)
    return redirect("exports:detail", export_id=again.pk)


@login_required
def export_download(request, export_id: int, path: str):
    export = get_object_or_404(export_list_for(user=request.user), pk=export_id)
    found = export_file_download(export=export, path=path, by=request.user)
    if found is None:
        raise Http404("No such file in this export.")
    return FileResponse(found.open("rb"), as_attachment=True, content_type="application/octet-stream",
                        filename=export_download_name(export=export, path=path))
