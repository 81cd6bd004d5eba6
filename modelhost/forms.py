from django import forms

from core.forms import ErrorListMixin


class SamplingForm(ErrorListMixin, forms.Form):
    """Sampling values a person may set for one reply; empty fields keep the endpoint's defaults."""

    temperature = forms.FloatField(min_value=0, max_value=5, required=False, help_text="0 = greedy",
                                   widget=forms.NumberInput(attrs={"step": "0.05", "placeholder": "default"}))
    top_p = forms.FloatField(min_value=0.01, max_value=1, required=False, label="top_p",
                             widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "default"}))
    max_new_tokens = forms.IntegerField(min_value=1, max_value=32768, required=False, label="Max new tokens",
                                        widget=forms.NumberInput(attrs={"placeholder": "default"}))
    seed = forms.IntegerField(min_value=0, max_value=2**63 - 1, required=False,
                              widget=forms.NumberInput(attrs={"placeholder": "random"}))

    SAMPLING = ("temperature", "top_p", "max_new_tokens", "seed")

    def params(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SAMPLING if self.cleaned_data.get(name) is not None}


class PlaygroundForm(SamplingForm):
    prompt = forms.CharField(strip=True, error_messages={"required": "The prompt is empty: write something."})
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput,
                                help_text="The reply this turn follows (multi-turn chat).")
