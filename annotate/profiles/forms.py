from django import forms

from annotate.profiles.models import AGE_BANDS, EDUCATION, MAX_ANSWER, REGIONS, Profile

NOT_SAID = [("", "Prefer not to say")]


class ProfileForm(forms.Form):
    consent = forms.BooleanField(
        required=False, label="I agree that this profile is kept and used, in groups of several people only, in the "
                              "reports of the campaigns I judge in.")
    age_band = forms.ChoiceField(required=False, choices=NOT_SAID + [(band, band) for band in AGE_BANDS])
    region = forms.ChoiceField(required=False, label="Region", choices=NOT_SAID + [(r, r) for r in REGIONS])
    country = forms.CharField(required=False, max_length=60)
    languages = forms.CharField(required=False, max_length=400, help_text="Your main language first, separated by "
                                                                          "commas.")
    education = forms.ChoiceField(required=False, label="Highest education",
                                  choices=NOT_SAID + [(level, level) for level in EDUCATION])

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign_fields = list(fields)
        for field in self.campaign_fields:
            label = f"{field.campaign.name}: {field.label}"
            if field.choices:
                self.fields[f"field_{field.pk}"] = forms.ChoiceField(
                    required=False, label=label, choices=NOT_SAID + [(choice, choice) for choice in field.choices])
            else:
                self.fields[f"field_{field.pk}"] = forms.CharField(required=False, label=label, max_length=MAX_ANSWER)

    @staticmethod
    def initial_from(profile: Profile | None) -> dict:
        if profile is None:
            return {}
        return {"consent": True, "age_band": profile.age_band, "region": profile.region, "country": profile.country,
                "languages": ", ".join(profile.languages), "education": profile.education,
                **{f"field_{answer.field_id}": answer.value for answer in profile.answers.all()}}

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"consent": data["consent"], "age_band": data["age_band"], "region": data["region"],
                "country": data["country"], "languages": data["languages"].split(","),
                "education": data["education"],
                "answers": {field.pk: data[f"field_{field.pk}"] for field in self.campaign_fields}}


class ProfileFieldForm(forms.Form):
    label = forms.CharField(max_length=120, help_text='A question of this campaign, e.g. "Do you code for a living?"')
    choices = forms.CharField(required=False, max_length=1000,
                              help_text="Allowed answers separated by commas; empty for free text.")
