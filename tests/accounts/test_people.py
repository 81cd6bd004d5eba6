import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest  # axes checks every sign-in against its request

from accounts.models import User
from accounts.services.users import user_create


def test_a_manager_adds_an_annotator_who_joins_through_the_invite_link(client, manager):
    client.force_login(manager)
    response = client.post("/accounts/people/", {"username": "nina", "email": "nina@example.org", "role": "annotator"})
    invite_url = response.context["invite_url"]
    assert invite_url and "nina" in response.content.decode()
    nina = User.objects.get(username="nina")
    assert not nina.has_usable_password()

    client.logout()
    form_page = client.get(invite_url, follow=True)  # Django swaps the token into the session, then shows the form
    assert form_page.context["validlink"]
    new_password = {"new_password1": "Sunny-Garden-42", "new_password2": "Sunny-Garden-42"}
    client.post(form_page.request["PATH_INFO"], new_password)
    assert client.login(request=HttpRequest(), username="nina", password="Sunny-Garden-42")


def test_an_invite_link_works_only_once(client, manager):
    client.force_login(manager)
    invite_url = client.post("/accounts/people/", {"username": "nina", "role": "annotator"}).context["invite_url"]
    client.logout()
    page = client.get(invite_url, follow=True)
    client.post(page.request["PATH_INFO"], {"new_password1": "Sunny-Garden-42", "new_password2": "Sunny-Garden-42"})
    assert not client.get(invite_url, follow=True).context["validlink"]


def test_a_manager_cannot_create_a_manager(manager):
    with pytest.raises(PermissionDenied):
        user_create(creator=manager, username="boss", role=User.Role.MANAGER)
    assert not User.objects.filter(username="boss").exists()


def test_an_admin_can_create_a_manager(admin_user):
    created = user_create(creator=admin_user, username="boss", role=User.Role.MANAGER)
    assert created.is_manager and not created.is_admin


def test_an_annotator_cannot_see_or_use_the_people_page(client, annotator):
    client.force_login(annotator)
    assert client.get("/accounts/people/").status_code == 403
    assert client.post("/accounts/people/", {"username": "x", "role": "annotator"}).status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_a_taken_username_gives_a_form_error_not_a_crash(client, manager, annotator):
    client.force_login(manager)
    response = client.post("/accounts/people/", {"username": "ANNA", "role": "annotator"})
    assert response.status_code == 200
    assert "is taken" in response.content.decode()


def test_a_manager_sees_annotators_but_not_other_managers(client, manager, annotator, admin_user):
    client.force_login(manager)
    people = {user.username for user in client.get("/accounts/people/").context["people"]}
    assert people == {"anna", "maria"}


def test_a_manager_sees_no_annotator_e_mail_and_an_admin_sees_all(client, manager, annotator, admin_user):
    client.force_login(manager)
    page = client.get("/accounts/people/").content.decode()
    assert "anna@example.org" not in page and "maria@example.org" in page
    client.force_login(admin_user)
    assert "anna@example.org" in client.get("/accounts/people/").content.decode()


# --- managing people ---------------------------------------------------------------------------------------------

def test_a_manager_invites_people_from_a_csv_and_gets_a_link_each(client, manager):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(manager)
    content = b"username,email\nnina,nina@example.org\nnoah,\n"
    page = client.post("/accounts/people/csv/", {"file": SimpleUploadedFile("people.csv", content)})
    assert [name for name, _ in page.context["invites"]] == ["nina", "noah"]
    assert all("/accounts/invite/" in url for _, url in page.context["invites"])
    assert User.objects.filter(username__in=["nina", "noah"], role="annotator").count() == 2


def test_a_csv_with_one_bad_line_adds_nobody(client, manager):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(manager)
    content = b"nina,nina@example.org\nmaria,\nboss,,manager\n"
    page = client.post("/accounts/people/csv/", {"file": SimpleUploadedFile("people.csv", content)})
    text = page.content.decode()
    assert "Nobody was added. line 2 (maria)" in text and "line 3 (boss): Only admins" in text
    assert not User.objects.filter(username__in=["nina", "boss"]).exists()


def test_a_manager_deactivates_and_reactivates_an_annotator(client, manager, annotator):
    client.force_login(manager)
    client.post(f"/accounts/people/{annotator.pk}/", {"action": "deactivate"})
    annotator.refresh_from_db()
    assert not annotator.is_active
    client.post(f"/accounts/people/{annotator.pk}/", {"action": "activate"})
    annotator.refresh_from_db()
    assert annotator.is_active


def test_a_password_reset_stops_the_old_password_and_gives_a_link(client, manager, annotator):
    client.force_login(manager)
    page = client.post(f"/accounts/people/{annotator.pk}/", {"action": "reset_password"})
    annotator.refresh_from_db()
    assert not annotator.has_usable_password() and "/accounts/invite/" in page.context["invite_url"]
    assert 'data-copy="#invite-1"' in page.content.decode()


def test_a_manager_cannot_touch_another_manager_or_an_admin(client, manager, admin_user):
    from accounts.services.users import user_active_set

    other = User.objects.create(username="mo", role=User.Role.MANAGER)
    with pytest.raises(PermissionDenied):
        user_active_set(user=other, active=False, by=manager)
    client.force_login(manager)
    assert client.post(f"/accounts/people/{admin_user.pk}/", {"action": "deactivate"}).status_code == 404
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_annotators_cannot_manage_people(client, annotator, other_annotator):
    client.force_login(annotator)
    assert client.post(f"/accounts/people/{other_annotator.pk}/", {"action": "deactivate"}).status_code == 403
    assert client.get("/accounts/people/").status_code == 403
    other_annotator.refresh_from_db()
    assert other_annotator.is_active


def test_a_manager_cannot_lock_out_an_annotator_of_another_managers_campaign(client, manager, annotator, admin_user):
    from accounts.services.users import user_active_set, user_invite_reissue
    from tests.factories import CampaignFactory

    theirs = CampaignFactory(name="Theirs")  # created by another manager
    theirs.members.add(annotator)
    with pytest.raises(PermissionDenied, match="also works on campaigns you do not manage"):
        user_active_set(user=annotator, active=False, by=manager)
    with pytest.raises(PermissionDenied):
        user_invite_reissue(user=annotator, by=manager, reset_password=True)
    annotator.refresh_from_db()
    assert annotator.is_active and annotator.has_usable_password()
    user_active_set(user=annotator, active=False, by=admin_user)  # an admin may
    annotator.refresh_from_db()
    assert not annotator.is_active


def test_the_people_page_offers_actions_only_on_accounts_the_viewer_may_change(client, manager, annotator,
                                                                              other_annotator, admin_user):
    from tests.factories import CampaignFactory

    CampaignFactory(name="Theirs").members.add(annotator)  # another manager's team: refused to this manager
    client.force_login(manager)
    page = client.get("/accounts/people/")
    offered = {person.username for person in page.context["people"] if person.manageable}
    assert offered == {other_annotator.username}
    assert page.content.decode().count('name="action" value="deactivate"') == 1
    assert client.post(f"/accounts/people/{annotator.pk}/", {"action": "deactivate"}).status_code == 404
    annotator.refresh_from_db()
    assert annotator.is_active
    client.force_login(admin_user)
    offered = {person.username for person in client.get("/accounts/people/").context["people"] if person.manageable}
    assert {annotator.username, other_annotator.username, manager.username} <= offered
    assert admin_user.username not in offered  # nobody acts on their own account
