"""Portal forms: small, validated, no business logic."""

from django import forms


class LifecycleForm(forms.Form):
    """The reason a person gives for suspending, reactivating or decommissioning an agent."""

    reason = forms.CharField(max_length=500, required=False, strip=True)
