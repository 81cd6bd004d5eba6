"""The annotator's own profile page (see, edit, withdraw) and the manager's page of a campaign's own questions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import manager_required
from annotate.access import campaign_to_manage
from annotate.profiles.forms import ProfileFieldForm, ProfileForm
from annotate.profiles.models import ProfileField
from annotate.profiles.selectors import campaign_profile_fields, profile_fields_for, profile_of
from annotate.profiles.services import profile_field_create, profile_field_delete, profile_save, profile_withdraw


@login_required
def profile_page(request):
    profile = profile_of(user=request.user)
    fields = profile_fields_for(user=request.user)
    form = ProfileForm(request.POST or None, initial=ProfileForm.initial_from(profile), fields=fields)
    if request.method == "POST" and form.is_valid():
        try:
            profile_save(user=request.user, **form.service_arguments())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your profile is saved. You can change or withdraw it here at any time.")
            return redirect("profiles:mine")
    # answers to the questions of campaigns the annotator has left: kept (with consent), so shown here too
    elsewhere = profile.answers.exclude(field__in=fields).select_related("field__campaign") if profile else []
    return render(request, "profiles/profile.html", {"form": form, "profile": profile, "elsewhere": elsewhere})


@login_required
@require_POST
def profile_withdraw_view(request):
    if profile_withdraw(user=request.user):
        messages.success(request, "Your profile and every answer in it are deleted.")
    return redirect("profiles:mine")


@manager_required
def fields_page(request, campaign_id: int):
    campaign = campaign_to_manage(user=request.user, campaign_id=campaign_id)
    form = ProfileFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile_field_create(campaign=campaign, by=request.user, label=form.cleaned_data["label"],
                                 choices=form.cleaned_data["choices"].split(","))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("profiles:fields", campaign_id=campaign.pk)
    return render(request, "profiles/fields.html", {
        "campaign": campaign, "form": form, "fields": campaign_profile_fields(campaign=campaign)})


@manager_required
@require_POST
def field_remove(request, campaign_id: int, field_id: int):
    campaign = campaign_to_manage(user=request.user, campaign_id=campaign_id)
    field = get_object_or_404(ProfileField.objects.filter(campaign=campaign), pk=field_id)
    profile_field_delete(field=field, by=request.user)
    messages.success(request, f"Removed the question {field.label!r} and its answers.")
    return redirect("profiles:fields", campaign_id=campaign.pk)
