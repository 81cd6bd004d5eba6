"""Reads of annotator profiles. Single profiles are read by their owner only; the report reads values in bulk and
shows them in aggregate (annotate.report.metrics.groups)."""

from django.db.models import QuerySet

from accounts.models import User
from annotate.access import campaigns_visible_to
from annotate.models import Campaign
from annotate.profiles.models import Profile, ProfileAnswer, ProfileField

STANDARD = {"age_band": "Age band", "region": "Region", "country": "Country", "first_language": "Main language",
            "education": "Education"}


def profile_of(*, user: User) -> Profile | None:
    return Profile.objects.filter(user=user).prefetch_related("answers").first()


def profile_fields_for(*, user: User) -> QuerySet[ProfileField]:
    """The questions of the campaigns this annotator is a member of and may see."""
    return (ProfileField.objects.filter(campaign__in=campaigns_visible_to(user=user).filter(members=user))
            .select_related("campaign").order_by("campaign__name", "pk"))


def campaign_profile_fields(*, campaign: Campaign) -> QuerySet[ProfileField]:
    return campaign.profile_fields.order_by("pk")


def profile_values(*, campaign: Campaign, user_ids) -> tuple[dict[str, str], dict[int, dict[str, str]]]:
    """The attributes a campaign's report breaks down by (key -> label), and user pk -> {key: value} for the
    consenting annotators among `user_ids`. Free text is compared case-insensitively."""
    fields = {field.pk: field for field in campaign_profile_fields(campaign=campaign)}
    attributes = {**STANDARD, **{f"field:{field.pk}": field.label for field in fields.values()}}
    values: dict[int, dict[str, str]] = {}
    for user_id, age_band, region, country, languages, education in Profile.objects.filter(
            user_id__in=user_ids).values_list("user_id", "age_band", "region", "country", "languages", "education"):
        row = {"age_band": age_band, "region": region, "country": country.strip().casefold(),
               "first_language": languages[0] if languages else "", "education": education}
        values[user_id] = {key: value for key, value in row.items() if value}
    for user_id, field_id, value in ProfileAnswer.objects.filter(
            profile__user_id__in=user_ids, field__campaign=campaign).values_list("profile__user_id", "field_id",
                                                                                 "value"):
        values[user_id][f"field:{field_id}"] = value if fields[field_id].choices else value.strip().casefold()
    return attributes, values
