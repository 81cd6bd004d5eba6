from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts.forms import PersonCreateForm, TokenCreateForm
from accounts.selectors import token_list_for, user_list_visible_to
from accounts.services.tokens import token_create, token_revoke
from accounts.services.users import user_create, user_invite_path


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/invite_accept.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def form_valid(self, form):
        messages.success(self.request, "Your password is set. Sign in to start.")
        return super().form_valid(form)


@login_required
def people(request):
    if not request.user.is_manager:
        raise PermissionDenied
    form = PersonCreateForm(request.POST or None, creator=request.user)
    invite_url = None
    if request.method == "POST" and form.is_valid():
        try:
            person = user_create(creator=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            invite_url = request.build_absolute_uri(user_invite_path(user=person))
            messages.success(request, f"Added {person.username}. Send them the invite link below.")
            form = PersonCreateForm(creator=request.user)
    return render(
        request,
        "accounts/people.html",
        {"form": form, "people": user_list_visible_to(viewer=request.user), "invite_url": invite_url},
    )


@login_required
def tokens(request):
    form = TokenCreateForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _, new_key = token_create(user=request.user, name=form.cleaned_data["name"])
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
