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
    name = forms.CharField(max_length=100, initial="API token")
