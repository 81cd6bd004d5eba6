"""Writes of annotator profiles. Nothing is stored without consent; withdrawing deletes the profile and its answers."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.models import Campaign
from annotate.profiles.models import MAX_ANSWER, MAX_LANGUAGES, Profile, ProfileAnswer, ProfileField
from annotate.profiles.selectors import profile_fields_for
from core.services.audit import audit_record


def _clean_languages(languages: list[str]) -> list[str]:
    cleaned = []
    for language in languages:
        language = language.strip().casefold()
        if language and language not in cleaned:
            cleaned.append(language[:40])
    if len(cleaned) > MAX_LANGUAGES:
        raise ValidationError({"languages": f"List at most {MAX_LANGUAGES} languages."})
    return cleaned


@transaction.atomic
def profile_save(*, user: User, consent: bool, age_band: str = "", region: str = "", country: str = "",
                 languages: list[str] = (), education: str = "", answers: dict[int, str] | None = None) -> Profile:
    """Create or replace the annotator's profile. `answers`: field pk -> answer, for the fields of campaigns the
    annotator is a member of (blank answers are dropped, so a field can be left unanswered)."""
    if not consent:
        raise ValidationError("Tick the consent box to keep a profile; nothing was stored.")
    profile = Profile.objects.filter(user=user).first() or Profile(user=user)
    if profile.pk is None:  # the trail keeps when consent was given and withdrawn, never what the profile says
        audit_record(actor=user, action="profile.consent", target=f"user {user.pk}")
    profile.consented_at = timezone.now()
    profile.age_band, profile.region, profile.education = age_band, region, education
    profile.country = country.strip()
    profile.languages = _clean_languages(list(languages))
    profile.full_clean(exclude=["user"])
    profile.save()
    fields = {field.pk: field for field in profile_fields_for(user=user)}
    kept = {}
    for pk, value in (answers or {}).items():
        field = fields.get(pk)
        if field is None:
            raise ValidationError(f"Field {pk} is not one of your campaigns'.")
        value = value.strip()[:MAX_ANSWER]
        if value and field.choices and value not in field.choices:
            raise ValidationError({f"field_{pk}": f"Choose one of: {', '.join(field.choices)}."})
        if value:
            kept[pk] = value
    profile.answers.exclude(field_id__in=kept).filter(field_id__in=fields).delete()
    for pk, value in kept.items():
        ProfileAnswer.objects.update_or_create(profile=profile, field_id=pk, defaults={"value": value})
    return profile


@transaction.atomic
def profile_withdraw(*, user: User) -> bool:
    """Delete the annotator's profile and every answer it holds; whether there was one."""
    deleted, _ = Profile.objects.filter(user=user).delete()
    if deleted:
        audit_record(actor=user, action="profile.withdraw", target=f"user {user.pk}")
    return bool(deleted)


@transaction.atomic
def profile_field_create(*, campaign: Campaign, by: User, label: str, choices: list[str] = ()) -> ProfileField:
    campaign_check_manager(campaign=campaign, user=by)
    field = ProfileField(campaign=campaign, label=label.strip(),
                         choices=list(dict.fromkeys(choice.strip() for choice in choices if choice.strip())))
    field.full_clean()
    field.save()
    audit_record(actor=by, action="campaign.profile_field_add", target=f"campaign {campaign.pk}",
                 details={"label": field.label})
    return field


@transaction.atomic
def profile_field_delete(*, field: ProfileField, by: User) -> None:
    """Removes the question and every answer to it."""
    campaign_check_manager(campaign=field.campaign, user=by)
    audit_record(actor=by, action="campaign.profile_field_remove", target=f"campaign {field.campaign_id}",
                 details={"label": field.label})
    field.delete()
