"""Optional, consented annotator profiles: who the annotators are, so that a report can say whose preferences a
dataset encodes. A profile row exists only while its annotator consents (withdrawing deletes it and, by cascade,
every answer to a campaign's own fields); the report shows it only in aggregate, in groups of a minimum size.
"""

from django.conf import settings
from django.db import models

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
REGIONS = ("Africa", "Asia", "Europe", "Latin America and the Caribbean", "Middle East", "Northern America",
           "Oceania")
EDUCATION = ("Primary or less", "Secondary", "Vocational", "Bachelor's degree", "Master's degree", "Doctorate")
MAX_LANGUAGES = 10
MAX_ANSWER = 100


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    consented_at = models.DateTimeField(help_text="When the annotator ticked the consent box; no row without it.")
    age_band = models.CharField(max_length=8, blank=True, choices=[(band, band) for band in AGE_BANDS])
    region = models.CharField(max_length=40, blank=True, choices=[(region, region) for region in REGIONS])
    country = models.CharField(max_length=60, blank=True)
    languages = models.JSONField(default=list, blank=True, help_text="Main language first.")
    education = models.CharField(max_length=40, blank=True, choices=[(level, level) for level in EDUCATION])
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"


class ProfileField(models.Model):
    """A question of the campaign's own (e.g. "Do you write code for a living?"), answered on the profile page."""

    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="profile_fields")
    label = models.CharField(max_length=120)
    choices = models.JSONField(default=list, blank=True, help_text="Allowed answers; empty: free text.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["campaign", "label"], name="profile_field_unique_label")]

    def __str__(self) -> str:
        return self.label


class ProfileAnswer(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="answers")
    field = models.ForeignKey(ProfileField, on_delete=models.CASCADE, related_name="answers")
    value = models.CharField(max_length=MAX_ANSWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["profile", "field"], name="profile_answer_one_per_field")]
