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


class MiningForm(forms.Form):
    source = forms.ChoiceField(choices=[("all", "all conversations"), ("api", "chat API"), ("import", "imported")],
                               initial="all")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    endpoint = forms.ModelChoiceField(queryset=None, required=False, empty_label="default model",
                                      help_text="The model that judges turns, regenerates and votes on pairs.")

    def __init__(self, *args, **kwargs):
        from modelhost.selectors import endpoint_list

        super().__init__(*args, **kwargs)
        self.fields["endpoint"].queryset = endpoint_list()
