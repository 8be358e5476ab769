"""Forms for an agent's access: asking for a scope, and its connections to resources."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.validators import MinValueValidator

from agents.models import Agent, Connection, Resource, Scope, ScopeGrant, TrustLevel
from agents.services.connections import CONNECTION_FIELDS

from .fields import ActionListField, FutureDateTimeField, ScopeChoiceField, same_minute


class GrantRequestForm(forms.Form):
    """Ask for a scope for an agent, with the reason a reviewer will read."""

    scope = ScopeChoiceField(queryset=Scope.objects.none(), empty_label="Choose a scope")
    justification = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the agent needs this access. Recorded with the grant and in the audit log.",
    )
    expires_at = FutureDateTimeField(label="Until (UTC)", help_text="Leave empty for no end date.")

    def __init__(self, *args, agent: Agent, **kwargs):
        super().__init__(*args, **kwargs)
        held = ScopeGrant.objects.active().filter(agent=agent).values("scope_id")
        self.fields["scope"].queryset = (
            Scope.objects.filter(resource__isnull=False).exclude(pk__in=held).order_by("name")
        )


class ConnectionForm(forms.Form):
    """What an agent may do on one resource and within which limits."""

    resource = forms.ModelChoiceField(
        queryset=Resource.objects.order_by("name"), empty_label="Choose a resource"
    )
    allowed_actions = ActionListField(label="Allowed actions")
    rate_limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000_000,
        label="Rate limit (requests)",
        help_text="Requests per window. Leave empty for no limit.",
    )
    rate_window_seconds = forms.IntegerField(
        min_value=1, max_value=31 * 86400, initial=60, label="Window (seconds)"
    )
    budget_cap = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0))],
        label="Budget cap",
        help_text="The most the agent may spend per period. Leave empty for no cap.",
    )
    budget_period = forms.ChoiceField(
        choices=Connection.BudgetPeriod.choices,
        initial=Connection.BudgetPeriod.DAY,
        label="Budget period",
    )
    trust_floor = forms.ChoiceField(
        choices=TrustLevel.choices,
        initial=TrustLevel.PENDING,
        label="Trust floor",
        help_text="Below this level a person must approve each action; an untrusted agent is "
        "always refused.",
    )
    expires_at = FutureDateTimeField(label="Until (UTC)", help_text="Leave empty for no end.")

    # The fields a change may touch: the registry service's, but for the log-only rules, which
    # are a platform admin's experiment and not offered here.
    EDITABLE = tuple(name for name in CONNECTION_FIELDS if name != "log_only_rules")

    def __init__(self, *args, agent: Agent, connection: Connection | None = None, **kwargs):
        if connection is not None:
            kwargs.setdefault(
                "initial", {name: getattr(connection, name) for name in self.EDITABLE}
            )
        super().__init__(*args, **kwargs)
        self.fields["budget_cap"].label = f"Budget cap ({settings.BUDGET_UNIT})"
        if connection is not None:
            del self.fields["resource"]
            self.fields["expires_at"].kept = connection.expires_at
        else:
            taken = agent.connections.values("resource_id")
            self.fields["resource"].queryset = Resource.objects.exclude(pk__in=taken).order_by(
                "name"
            )
        self.connection = connection

    def changes(self) -> dict:
        """The editable values that differ from the connection's, for ``connection_update``."""
        data = {name: self.cleaned_data[name] for name in self.EDITABLE}
        if self.connection is None:
            return data
        if same_minute(data["expires_at"], self.connection.expires_at):
            data["expires_at"] = self.connection.expires_at  # shown to the minute, not changed
        return {k: v for k, v in data.items() if getattr(self.connection, k) != v}
