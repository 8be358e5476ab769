"""Access reviews over the API, ``/api/v1/reviews/…``, and ``/api/v1/agents/<slug>/evidence``.

Thin: parse, call one service, render. Objects outside the caller's view are 404; a refusal
by the service is 403 (not allowed) or 400 (bad input, naming the field); a decided item 409.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from agents.permissions import can_decide, has_any_role
from agents.selectors import agents_visible

from .. import selectors, services
from ..errors import ReviewError, ReviewForbidden, ReviewInvalid
from ..models import Campaign, ReviewItem
from ..permissions import can_answer, decide_refusal, items_visible_to
from . import serializers as s

REFUSED = OpenApiResponse(description="Not allowed (role, assignment, or own team).")
CONFLICT = OpenApiResponse(description="The item is already decided.")


class HasRole(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return has_any_role(request.user)


def refusal(exc: ReviewError) -> Response:
    if isinstance(exc, ReviewForbidden):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, ReviewInvalid):
        key = exc.field or api_settings.NON_FIELD_ERRORS_KEY
        return Response({key: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


def _page(request, view, qs, serializer):
    paginator = api_settings.DEFAULT_PAGINATION_CLASS()
    page = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class Base(APIView):
    permission_classes = [permissions.IsAuthenticated, HasRole]


class CampaignList(Base):
    """Campaigns I may see (``?state=open``); POST opens one (reviewers and admins)."""

    serializer_class = s.CampaignSerializer
    # Documented as the page it returns (drf-spectacular wraps the list in it).
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        operation_id="reviews_campaigns_list",
        parameters=[OpenApiParameter("state", str, enum=Campaign.State.values)],
        responses=s.CampaignSerializer(many=True),
    )
    def get(self, request):
        qs = selectors.campaigns_with_counts(request.user).order_by("-created_at", "-pk")
        wanted = request.query_params.get("state")
        if wanted:
            if wanted not in Campaign.State.values:
                return Response({"state": [f"one of {', '.join(Campaign.State.values)}"]}, 400)
            qs = qs.filter(state=wanted)
        return _page(request, self, qs, s.CampaignSerializer)

    @extend_schema(
        operation_id="reviews_campaigns_open",
        request=s.CampaignOpenSerializer,
        responses={201: s.CampaignSerializer, 403: REFUSED},
    )
    def post(self, request):
        body = s.CampaignOpenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            campaign = services.review_campaign_open(
                by=request.user,
                name=data["name"],
                coverage=data["coverage"],
                team=data.get("team"),
                min_sensitivity=data["min_sensitivity"],
                reviewers=data.get("reviewers", []),
                due_at=data.get("due_at"),
            )
        except ReviewError as exc:
            return refusal(exc)
        campaign = selectors.campaigns_with_counts(request.user).get(pk=campaign.pk)
        return Response(s.CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


def _campaign(request, pk) -> Campaign:
    campaign = selectors.campaigns_with_counts(request.user).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


class CampaignDetail(Base):
    serializer_class = s.CampaignSerializer

    @extend_schema(operation_id="reviews_campaigns_retrieve", responses=s.CampaignSerializer)
    def get(self, request, pk):
        return Response(s.CampaignSerializer(_campaign(request, pk)).data)


class CampaignClose(Base):
    """Close a campaign; ``force`` closes it with items still pending."""

    serializer_class = s.CampaignSerializer

    @extend_schema(
        operation_id="reviews_campaigns_close",
        request=None,
        parameters=[OpenApiParameter("force", bool)],
        responses={200: s.CampaignSerializer, 403: REFUSED},
    )
    def post(self, request, pk):
        campaign = _campaign(request, pk)
        force = request.query_params.get("force") in ("1", "true")
        try:
            services.review_campaign_close(campaign=campaign, by=request.user, force=force)
        except ReviewError as exc:
            return refusal(exc)
        return Response(s.CampaignSerializer(_campaign(request, pk)).data)


class CampaignReport(Base):
    """Every line I may see, its evidence, decision and result; reviewers' rubber-stamp flags."""

    serializer_class = s.ReportSerializer

    @extend_schema(operation_id="reviews_campaigns_report", responses=s.ReportSerializer)
    def get(self, request, pk):
        campaign = _campaign(request, pk)
        return Response(
            {
                "campaign": s.CampaignSerializer(campaign).data,
                "columns": selectors.REPORT_COLUMNS,
                "rows": list(selectors.report_rows(campaign, request.user)),
                # Reviewers' statistics (over every item of the campaign, whichever team owns
                # it) are for reviewers and admins, as on the portal's report.
                "reviewers": [
                    {**vars(r), "keep_ratio": r.keep_ratio, "flags": list(r.flags)}
                    for r in selectors.reviewer_stats(campaign)
                ]
                if can_decide(request.user)
                else [],
            }
        )


class ItemList(Base):
    """Items I may see: ``?campaign=<id>&state=pending``."""

    serializer_class = s.ItemSerializer
    # Documented as the page it returns (drf-spectacular wraps the list in it).
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        operation_id="reviews_items_list",
        parameters=[
            OpenApiParameter("campaign", int),
            OpenApiParameter("state", str, enum=ReviewItem.State.values),
        ],
        responses=s.ItemSerializer(many=True),
    )
    def get(self, request):
        qs = items_visible_to(request.user).select_related("answered_by").order_by("pk")
        campaign = request.query_params.get("campaign")
        if campaign:
            if not campaign.isdigit():
                return Response({"campaign": ["a campaign id (a number)"]}, 400)
            qs = qs.filter(campaign_id=int(campaign))
        wanted = request.query_params.get("state")
        if wanted:
            if wanted not in ReviewItem.State.values:
                return Response({"state": [f"one of {', '.join(ReviewItem.State.values)}"]}, 400)
            qs = qs.filter(state=wanted)
        return _page(request, self, qs, s.ItemSerializer)


def _item(request, pk) -> ReviewItem:
    item = items_visible_to(request.user).filter(pk=pk).first()
    if item is None:
        raise Http404
    return item


def _may_not_decide(request, item: ReviewItem) -> Response | None:
    """403 before the body is read: who may decide is the service's rule, asked first."""
    reason = decide_refusal(request.user, item) if item.is_pending else None
    return refusal(ReviewForbidden(reason)) if reason else None


def _detail(request, pk) -> Response:
    item = _item(request, pk)
    item.ordered_lines = list(selectors.item_lines(item))
    return Response(s.ItemDetailSerializer(item).data)


class ItemDetail(Base):
    serializer_class = s.ItemDetailSerializer

    @extend_schema(operation_id="reviews_items_retrieve", responses=s.ItemDetailSerializer)
    def get(self, request, pk):
        return _detail(request, pk)


class ItemDecide(Base):
    """Decide lines (keep / reduce / revoke), or accept every recommendation. Reviewers only."""

    serializer_class = s.ItemDecideSerializer

    @extend_schema(
        operation_id="reviews_items_decide",
        request=s.ItemDecideSerializer,
        responses={200: s.ItemDetailSerializer, 403: REFUSED, 409: CONFLICT},
    )
    def post(self, request, pk):
        item = _item(request, pk)
        refused = _may_not_decide(request, item)
        if refused:
            return refused
        body = s.ItemDecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decisions = {
            line["line"]: services.LineDecision(
                line["decision"], line["comment"], tuple(line["reduce_to"])
            )
            for line in body.validated_data["lines"]
        }
        try:
            services.review_item_decide(
                item=item,
                by=request.user,
                decisions=decisions,
                accept_recommendations=body.validated_data["accept_recommendations"],
            )
        except ReviewError as exc:
            return refusal(exc)
        return _detail(request, pk)


class ItemAnswer(Base):
    """The owning team's justification. Owners only; it decides nothing."""

    serializer_class = s.AnswerSerializer

    @extend_schema(
        operation_id="reviews_items_answer",
        request=s.AnswerSerializer,
        responses={200: s.ItemDetailSerializer, 403: REFUSED, 409: CONFLICT},
    )
    def post(self, request, pk):
        item = _item(request, pk)
        if item.is_pending and not can_answer(request.user, item):
            return refusal(ReviewForbidden("only the agent's owning team answers its review"))
        body = s.AnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.review_item_answer(
                item=item, by=request.user, justification=body.validated_data["justification"]
            )
        except ReviewError as exc:
            return refusal(exc)
        return _detail(request, pk)


class ItemSignOff(Base):
    """Apply every decided line in one transaction and certify the agent. Reviewers only."""

    serializer_class = s.ItemDetailSerializer

    @extend_schema(
        operation_id="reviews_items_sign_off",
        request=None,
        responses={200: s.ItemDetailSerializer, 403: REFUSED, 409: CONFLICT},
    )
    def post(self, request, pk):
        item = _item(request, pk)
        try:
            services.review_item_sign_off(item=item, by=request.user)
        except ReviewError as exc:
            return refusal(exc)
        return _detail(request, pk)


class AgentEvidence(Base):
    """Last use and uses in 30/90 days of the agent's grants, connections and credentials."""

    serializer_class = s.EvidenceSerializer

    @extend_schema(operation_id="agents_evidence", responses=s.EvidenceSerializer)
    def get(self, request, slug):
        agent = agents_visible(request.user).filter(slug=slug).first()
        if agent is None:
            raise Http404
        ev = selectors.agent_evidence(agent)
        return Response(
            {
                "agent": agent.slug,
                "as_of": ev["as_of"],
                **{
                    k: [row.as_dict() for row in ev[k]]
                    for k in ("grants", "connections", "credentials")
                },
            }
        )
