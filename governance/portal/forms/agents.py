"""Forms of the agents pages: registering, new versions, lifecycle reasons.

The agents list is filtered by the registry's ``agents.filters.AgentFilter`` (the API's too).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from agents.models import Agent, Team, slug_validator

from .fields import VersionFieldsMixin, version_label_taken


class ReasonForm(forms.Form):
    """The reason a person gives for a change; it is recorded in the audit log."""

    reason = forms.CharField(
        max_length=500,
        strip=True,
        label="Reason",
        help_text="Recorded in the audit log and shown on the agent's page.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecommissionForm(ReasonForm):
    """Decommissioning cannot be undone: the person ticks that they understand."""

    understood = forms.BooleanField(
        label="I understand that a decommissioned agent can never act again.",
        error_messages={"required": "Tick this to confirm."},
    )


class AgentRegisterForm(VersionFieldsMixin, forms.Form):
    """A new agent with its first version; the registry service validates and saves it."""

    field_order = [
        "owner_team",
        "display_name",
        "slug",
        "purpose",
        "version_label",
        "config_digest",
        "config_file",
        "requested_scopes",
    ]

    owner_team = forms.ModelChoiceField(
        queryset=Team.objects.none(), label="Owning team", empty_label=None
    )
    display_name = forms.CharField(max_length=200, label="Name")
    slug = forms.CharField(
        max_length=64,
        validators=[slug_validator],
        label="Client id (slug)",
        help_text="Lowercase letters, digits and hyphens. It becomes the OAuth client_id and "
        "cannot change.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    purpose = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the agent does and why it needs its access: reviewers read this.",
    )

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_team"].queryset = teams


class VersionForm(VersionFieldsMixin, forms.Form):
    """A new version of an existing agent; it becomes current and starts unreviewed."""

    def __init__(self, *args, agent: Agent, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent = agent
        if agent.current_version_id:
            self.fields["requested_scopes"].initial = list(
                agent.current_version.requested_scopes.values_list("pk", flat=True)
            )

    def clean_version_label(self) -> str:
        label = self.cleaned_data["version_label"].strip()
        if version_label_taken(self.agent, label):
            raise ValidationError(f"{self.agent.slug} already has a version {label}.")
        return label


class ConfigurationReviewForm(forms.Form):
    """What a reviewer checked before accepting a configuration the agent presented."""

    reason = forms.CharField(
        max_length=2000,  # as the API's review action
        strip=True,
        label="What was checked",
        help_text="For example the build that produced it. Recorded in the audit log.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
