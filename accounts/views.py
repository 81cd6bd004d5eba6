from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts.access import manager_required
from accounts.forms import PeopleCsvForm, PersonCreateForm, TokenCreateForm
from accounts.selectors import token_list_for, user_list_visible_to, users_manageable_by
from accounts.services.tokens import token_create, token_revoke
from accounts.services.users import (
    user_active_set,
    user_create,
    user_invite_path,
    user_invite_reissue,
    users_invite_csv,
)


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/invite_accept.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def form_valid(self, form):
        messages.success(self.request, "Your password is set. Sign in to start.")
        return super().form_valid(form)


def _render_people(request, *, form=None, csv_form=None, invites=()):
    """The people page; `invites`: (username, link path) pairs just made, shown once with copy buttons."""
    return render(request, "accounts/people.html", {
        "form": form or PersonCreateForm(creator=request.user), "csv_form": csv_form or PeopleCsvForm(),
        "people": user_list_visible_to(viewer=request.user),
        "invites": [(username, request.build_absolute_uri(path)) for username, path in invites],
        "invite_url": request.build_absolute_uri(invites[0][1]) if len(invites) == 1 else None,
    })


@manager_required
def people(request):
    form = PersonCreateForm(request.POST or None, creator=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            person = user_create(creator=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Added {person.username}. Send them the invite link below.")
            return _render_people(request, invites=[(person.username, user_invite_path(user=person))])
    return _render_people(request, form=form)


@manager_required
@require_POST
def people_csv(request):
    form = PeopleCsvForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            invited = users_invite_csv(content=form.cleaned_data["file"], creator=request.user)
        except ValidationError as error:
            form.add_error("file", error)
        else:
            messages.success(request, f"Added {len(invited)} people. Send each their invite link below.")
            return _render_people(request, invites=[(user.username, path) for user, path in invited])
    return _render_people(request, csv_form=form)


PERSON_ACTIONS = {"deactivate", "activate", "reset_password", "reissue_invite"}


@manager_required
@require_POST
def person_action(request, user_id: int):
    """Deactivate or reactivate an account, reset its password or make a new invite link: 404 for an account the
    viewer may not change (the page offers them no button), whose reason the services give to other callers."""
    person = get_object_or_404(users_manageable_by(manager=request.user), pk=user_id)
    action = request.POST.get("action", "")
    if action not in PERSON_ACTIONS:
        return HttpResponseBadRequest("Unknown action.", content_type="text/plain")
    if action in ("deactivate", "activate"):
        user_active_set(user=person, active=action == "activate", by=request.user)
        messages.success(request, f"{person.username} is {'active' if action == 'activate' else 'deactivated'}.")
        return redirect("people")
    path = user_invite_reissue(user=person, by=request.user, reset_password=action == "reset_password")
    done = "Their password no longer works; send" if action == "reset_password" else "Send"
    messages.success(request, f"{done} {person.username} the new link below.")
    return _render_people(request, invites=[(person.username, path)])


@login_required
def tokens(request):
    form = TokenCreateForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _, new_key = token_create(user=request.user, **form.cleaned_data)
        form = TokenCreateForm()
    return render(
        request, "accounts/tokens.html", {"form": form, "tokens": token_list_for(user=request.user), "new_key": new_key}
    )


@login_required
@require_POST
def token_revoke_view(request, token_id: int):
    token = get_object_or_404(token_list_for(user=request.user), pk=token_id)
    token_revoke(token=token)
    messages.success(request, f"Revoked {token}.")
    return redirect("tokens")
