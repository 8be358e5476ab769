"""Portal forms of access reviews: open a campaign, decide an item's lines, answer as owner.

Each form validates with the same rule the service applies (``services.decide.check_line``),
so a refusal lands on the field it is about and nothing changes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from agents.models import Sensitivity, Team
from agents.permissions import PLATFORM_ADMIN, SECURITY_REVIEWER
from audit.datetimes import UtcDateTimeField

from .errors import ReviewInvalid
from .models import Campaign, Decision, ReviewLine
from .services import LineDecision
from .services.decide import check_line


class CampaignOpenForm(forms.Form):
    name = forms.CharField(
        max_length=200, required=False, help_text="Leave empty for a dated name."
    )
    coverage = forms.ChoiceField(
        choices=[c for c in Campaign.Coverage.choices if c[0] != Campaign.Coverage.AGENT]
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.filter(is_active=True), required=False, help_text="For one team."
    )
    min_sensitivity = forms.ChoiceField(
        choices=[("", "—"), *Sensitivity.choices],
        required=False,
        label="Minimum sensitivity",
        help_text="For grants at or above a sensitivity.",
    )
    reviewers = forms.ModelMultipleChoiceField(
        queryset=get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=SECURITY_REVIEWER) | Q(groups__name=PLATFORM_ADMIN))
        .distinct()
        .order_by("username"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None: every security reviewer.",
    )
    due_at = UtcDateTimeField(
        required=False,
        label="Due",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: the policy's default.",
    )


class AnswerForm(forms.Form):
    justification = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Why the agent needs this access",
    )


class ItemDecideForm(forms.Form):
    """A decision, a comment and (connections) the actions to keep, per line."""

    def __init__(self, *args: Any, lines: list[ReviewLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            choices = [(Decision.KEEP, "Keep"), (Decision.REVOKE, "Revoke")]
            reducible = line.kind == ReviewLine.Kind.CONNECTION and len(line.actions) > 1
            if reducible:
                choices.insert(1, (Decision.REDUCE, "Reduce"))
            self.fields[f"decision_{line.pk}"] = forms.ChoiceField(
                choices=choices,
                widget=forms.RadioSelect,
                initial=line.decision or line.recommendation,
                label=f"Decision on {line.label}",
            )
            self.fields[f"comment_{line.pk}"] = forms.CharField(
                max_length=2000, required=False, initial=line.comment, label="Comment"
            )
            if reducible:
                self.fields[f"reduce_{line.pk}"] = forms.MultipleChoiceField(
                    choices=[(a, a) for a in line.actions],
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                    initial=line.reduce_to or line.recommended_actions,
                    label="Actions to keep when reducing",
                )

    def rows(self) -> list[tuple[ReviewLine, Any, Any, Any]]:
        """(line, decision field, comment field, reduce field or None) for the template."""
        return [
            (
                line,
                self[f"decision_{line.pk}"],
                self[f"comment_{line.pk}"],
                self[f"reduce_{line.pk}"] if f"reduce_{line.pk}" in self.fields else None,
            )
            for line in self.lines
        ]

    def clean(self) -> dict:
        data = super().clean()
        self.decisions: dict[int, LineDecision] = {}
        for line in self.lines:
            decision = data.get(f"decision_{line.pk}")
            if not decision:
                continue
            choice = LineDecision(
                decision,
                data.get(f"comment_{line.pk}", ""),
                tuple(data.get(f"reduce_{line.pk}", ())),
            )
            try:
                self.decisions[line.pk] = check_line(line, choice)
            except ReviewInvalid as exc:
                field = {"comment": "comment", "reduce_to": "reduce"}.get(
                    exc.field or "", "decision"
                )
                self.add_error(f"{field}_{line.pk}", str(exc))
        return data
