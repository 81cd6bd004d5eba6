from django import forms

from feedback.services.imports import FORMATS


class ConversationFilterForm(forms.Form):
    source = forms.ChoiceField(choices=[("", "any source"), ("api", "chat API"), ("import", "imported")],
                               required=False)
    model = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "model"}))
    has_feedback = forms.NullBooleanField(required=False, widget=forms.Select(
        choices=[("", "feedback or not"), ("true", "with feedback"), ("false", "without feedback")]))
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL, one conversation a line: ours, ShareGPT or WildChat layout.")
    format = forms.ChoiceField(choices=[(f, f) for f in FORMATS], initial="auto")
