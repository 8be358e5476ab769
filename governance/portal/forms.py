"""Portal forms: small, validated, no business logic."""

from django import forms

from agents.models import Agent, Team, TrustLevel


class LifecycleForm(forms.Form):
    """The reason a person gives for suspending, reactivating or decommissioning an agent."""

    reason = forms.CharField(max_length=500, required=False, strip=True)


class AgentFilterForm(forms.Form):
    """Filters of the agents list; a field with a bad value is left out, the others apply."""

    q = forms.CharField(
        max_length=100,
        required=False,
        strip=True,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Search name, slug, purpose"}),
    )
    status = forms.ChoiceField(choices=[("", "Any status"), *Agent.Status.choices], required=False)
    trust = forms.ChoiceField(choices=[("", "Any trust"), *TrustLevel.choices], required=False)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, to_field_name="slug", empty_label="Any team"
    )

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams
