"""Portal pages of access reviews, mounted at ``/portal/reviews/``.

The workbench (my open campaigns; for owners, their agents' items), one page per campaign, one
per item (evidence, recommendations preselected, keep / reduce / revoke, accept the
recommendations, sign off; the owners' answer), the printable report and its CSV. An item or
campaign outside the user's view is a 404 by GET and by POST.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from agents.permissions import can_decide

from . import selectors, services
from .errors import ReviewError, ReviewInvalid
from .forms import AnswerForm, CampaignOpenForm, ItemDecideForm
from .permissions import can_answer, decide_refusal, items_visible_to

SECTION = "reviews"


def _status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


@login_required
@require_safe
def workbench(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/reviews/workbench.html",
        {**selectors.workbench(request.user), "section": SECTION},
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_open(request: HttpRequest) -> HttpResponse:
    if not can_decide(request.user):
        raise PermissionDenied("Only security reviewers and platform admins open campaigns.")
    form = CampaignOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.review_campaign_open(
                by=request.user,
                name=data["name"],
                coverage=data["coverage"],
                team=data["team"],
                min_sensitivity=data["min_sensitivity"],
                reviewers=data["reviewers"],
                due_at=data["due_at"],
            )
        except ReviewInvalid as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, f"Campaign opened with {campaign.items.count()} agents.")
            return redirect("reviews:campaign", pk=campaign.pk)
    return render(
        request,
        "portal/reviews/open.html",
        {"form": form, "section": SECTION},
        status=_status(form),
    )


def _campaign(request: HttpRequest, pk: int):
    campaign = selectors.campaigns_with_counts(request.user).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


@login_required
@require_safe
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    items = selectors.items_for_page(campaign, request.user).select_related("decided_by")
    return render(
        request,
        "portal/reviews/campaign.html",
        {
            **selectors.campaign_summary(campaign, request.user),
            "page": Paginator(items, 50).get_page(request.GET.get("page")),
            "section": SECTION,
        },
    )


@login_required
@require_safe
def campaign_report(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    return render(
        request,
        "portal/reviews/report.html",
        {
            **selectors.campaign_summary(campaign, request.user),
            "columns": selectors.REPORT_COLUMNS,
            "rows": list(selectors.report_rows(campaign, request.user))[:5000],
            "reviewers": selectors.reviewer_stats(campaign) if can_decide(request.user) else [],
            "section": SECTION,
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_safe
def campaign_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    campaign = _campaign(request, pk)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(selectors.REPORT_COLUMNS)
        for row in selectors.report_rows(campaign, request.user):
            # A leading =, +, - or @ would be a formula to a spreadsheet (CSV injection).
            yield writer.writerow(
                ["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v for v in row]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-review-{campaign.pk}.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = items_visible_to(request.user).filter(pk=pk).first()
    if item is None:
        raise Http404
    page = selectors.item_page(item)
    refusal = decide_refusal(request.user, item) if item.is_pending else "decided"
    may_answer = item.is_pending and can_answer(request.user, item)
    posted = request.method == "POST"
    intent = request.POST.get("intent", "") if posted else ""
    form = ItemDecideForm(
        request.POST if posted and intent != "answer" else None, lines=_lines(page)
    )
    answer = AnswerForm(request.POST if intent == "answer" else None)
    if posted:
        if intent == "answer":
            if not may_answer:
                raise PermissionDenied("Only the agent's owning team answers its review.")
            if answer.is_valid():
                return _run(request, item, lambda: services.review_item_answer(
                    item=item, by=request.user, justification=answer.cleaned_data["justification"]
                ), "Answer recorded; reviewers will read it.", answer)  # fmt: skip
        else:
            if refusal:
                raise PermissionDenied(refusal)
            if intent == "accept":
                return _run(request, item, lambda: services.review_item_decide(
                    item=item, by=request.user, accept_recommendations=True
                ), "Recommendations accepted; review them and sign off.", form)  # fmt: skip
            if form.is_valid():
                return _run(request, item, lambda: _decide(request, item, form, intent), (
                    "Signed off: every decision applied." if intent == "sign_off"
                    else "Decisions saved."), form)  # fmt: skip
    return _render_item(
        request,
        page,
        form=form,
        answer=answer,
        may_decide=item.is_pending and not refusal,
        refusal=refusal if item.is_pending else "",
        may_answer=may_answer,
        status=_status(form) if intent != "answer" else _status(answer),
    )


def _lines(page: dict) -> list:
    return page["grants"] + page["connections"] + page["credentials"]


def _render_item(request, page: dict, *, form, answer, may_decide, may_answer, refusal, status):
    return render(
        request,
        "portal/reviews/item.html",
        {
            **page,
            "form": form,
            "answer": answer,
            "may_decide": may_decide,
            "refusal": refusal,
            "may_answer": may_answer,
            "section": SECTION,
        },
        status=status,
    )


def _decide(request, item, form, intent):
    with transaction.atomic():  # saving the choices and signing off stand or fall together
        services.review_item_decide(item=item, by=request.user, decisions=form.decisions)
        if intent == "sign_off":
            services.review_item_sign_off(item=item, by=request.user)


def _run(request, item, change, done: str, form):
    try:
        change()
    except ReviewError as exc:
        form.add_error(None, str(exc))
        page = selectors.item_page(item)
        return _render_item(
            request,
            page,
            form=form if isinstance(form, ItemDecideForm) else ItemDecideForm(lines=_lines(page)),
            answer=form if isinstance(form, AnswerForm) else AnswerForm(),
            may_decide=not decide_refusal(request.user, item),
            may_answer=can_answer(request.user, item),
            refusal="",
            status=400,
        )
    messages.success(request, done)
    return redirect("reviews:item", pk=item.pk)
