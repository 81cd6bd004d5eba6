"""The annotator profile: optional, consented, seen, edited and withdrawn by its owner only."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from annotate.profiles.models import Profile, ProfileAnswer, ProfileField
from annotate.profiles.selectors import profile_values
from annotate.profiles.services import profile_field_create, profile_save, profile_withdraw

pytestmark = pytest.mark.django_db


def _post_profile(client, **fields):
    data = {"age_band": "25-34", "region": "Europe", "country": "Portugal", "languages": "Portuguese, English",
            "education": "Secondary", **fields}
    return client.post(reverse("profiles:mine"), data)


def test_nothing_is_stored_without_the_consent_box(client, annotator):
    client.force_login(annotator)
    response = _post_profile(client)
    assert response.status_code == 200
    assert b"Tick the consent box" in response.content
    assert not Profile.objects.exists()


def test_an_annotator_saves_sees_and_edits_their_profile(client, annotator):
    client.force_login(annotator)
    assert _post_profile(client, consent="on").status_code == 302
    profile = Profile.objects.get(user=annotator)
    assert (profile.age_band, profile.languages) == ("25-34", ["portuguese", "english"])
    page = client.get(reverse("profiles:mine")).content.decode()
    assert "Saved with your consent" in page and 'value="Portugal"' in page
    _post_profile(client, consent="on", age_band="35-44")
    profile.refresh_from_db()
    assert profile.age_band == "35-44"


def test_withdrawing_deletes_the_profile_and_every_answer(client, manager, annotator, campaign):
    field = profile_field_create(campaign=campaign, by=manager, label="Do you code?", choices=["yes", "no"])
    client.force_login(annotator)
    _post_profile(client, consent="on", **{f"field_{field.pk}": "yes"})
    assert ProfileAnswer.objects.filter(field=field).count() == 1
    response = client.post(reverse("profiles:withdraw"))
    assert response.status_code == 302
    assert not Profile.objects.filter(user=annotator).exists()
    assert not ProfileAnswer.objects.exists()
    assert "No profile is stored for you" in client.get(reverse("profiles:mine")).content.decode()
    assert profile_withdraw(user=annotator) is False


def test_answers_only_to_the_questions_of_ones_own_campaigns(manager, annotator, other_campaign):
    foreign = profile_field_create(campaign=other_campaign, by=manager, label="Team")
    with pytest.raises(ValidationError):
        profile_save(user=annotator, consent=True, answers={foreign.pk: "red"})


def test_a_choice_question_takes_only_its_choices(manager, annotator, campaign):
    field = profile_field_create(campaign=campaign, by=manager, label="Do you code?", choices=["yes", "no"])
    with pytest.raises(ValidationError):
        profile_save(user=annotator, consent=True, answers={field.pk: "maybe"})


def test_the_report_reads_values_of_consenting_annotators_only(manager, annotator, other_annotator, campaign):
    field = profile_field_create(campaign=campaign, by=manager, label="Hobby")
    profile_save(user=annotator, consent=True, languages=["French", "english"], answers={field.pk: " Chess "})
    attributes, values = profile_values(campaign=campaign, user_ids=[annotator.pk, other_annotator.pk])
    assert attributes[f"field:{field.pk}"] == "Hobby"
    assert values == {annotator.pk: {"first_language": "french", f"field:{field.pk}": "chess"}}


def test_managers_define_questions_on_their_campaign(client, manager, campaign):
    client.force_login(manager)
    url = reverse("profiles:fields", args=[campaign.pk])
    assert client.post(url, {"label": "Do you code?", "choices": "yes, no,"}).status_code == 302
    field = ProfileField.objects.get(campaign=campaign)
    assert field.choices == ["yes", "no"]
    assert "Do you code?" in client.get(url).content.decode()
    client.post(reverse("profiles:field_remove", args=[campaign.pk, field.pk]))
    assert not ProfileField.objects.exists()


def test_annotators_and_other_managers_cannot_define_questions(client, annotator, campaign, db):
    from accounts.models import User
    from tests.factories import UserFactory

    stranger = UserFactory(username="mo", role=User.Role.MANAGER)
    with pytest.raises(PermissionDenied):
        profile_field_create(campaign=campaign, by=stranger, label="Age")
    client.force_login(annotator)
    assert client.post(reverse("profiles:fields", args=[campaign.pk]), {"label": "x"}).status_code == 403
    client.force_login(stranger)
    assert client.get(reverse("profiles:fields", args=[campaign.pk])).status_code == 404
    assert not ProfileField.objects.exists()


def test_the_profile_page_needs_a_sign_in(client):
    assert client.get(reverse("profiles:mine")).status_code == 302
    assert client.post(reverse("profiles:withdraw")).status_code == 302


def test_answers_to_a_campaign_one_has_left_stay_visible_until_withdrawn(client, manager, annotator, campaign):
    field = profile_field_create(campaign=campaign, by=manager, label="Do you code?", choices=["yes", "no"])
    profile_save(user=annotator, consent=True, answers={field.pk: "yes"})
    campaign.members.remove(annotator)
    client.force_login(annotator)
    page = client.get(reverse("profiles:mine")).content.decode()
    assert "Also kept" in page and "Helpfulness: Do you code?: yes" in page
    _post_profile(client, consent="on")  # saving again does not drop what the form does not show
    assert ProfileAnswer.objects.filter(field=field).exists()


def test_the_audit_trail_records_consent_and_withdrawal_but_not_the_answers(annotator):
    from core.models import AuditEvent

    profile_save(user=annotator, consent=True, region="Europe")
    profile_save(user=annotator, consent=True, region="Asia")
    profile_withdraw(user=annotator)
    events = list(AuditEvent.objects.filter(actor=annotator).order_by("pk").values_list("action", "details"))
    assert events == [("profile.consent", {}), ("profile.withdraw", {})]
