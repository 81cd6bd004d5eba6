from django import forms

from accounts.models import User


class PersonCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=User.Role.choices, initial=User.Role.ANNOTATOR)

    def __init__(self, *args, creator: User, **kwargs):
        super().__init__(*args, **kwargs)
        if not creator.is_admin:  # managers add annotators only
            self.fields["role"].choices = [(User.Role.ANNOTATOR, "Annotator")]


class TokenCreateForm(forms.Form):
    EXPIRY_CHOICES = [("", "never"), ("7", "in 7 days"), ("30", "in 30 days"), ("90", "in 90 days"),
                      ("365", "in a year")]

    name = forms.CharField(max_length=100, initial="API token")
    expires_in_days = forms.TypedChoiceField(choices=EXPIRY_CHOICES, coerce=int, empty_value=None, required=False,
                                             initial="90", label="Expires")


class PeopleCsvForm(forms.Form):
    MAX_BYTES = 1024 * 1024

    file = forms.FileField(label="CSV of people", help_text="One line per person: username,email[,role]. "
                                                            "Everyone gets an invite link; all or none are added.")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 1 MB; split it.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(f"The file is not UTF-8 text (byte {error.start}).") from error
