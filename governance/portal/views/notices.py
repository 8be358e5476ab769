"""The inbox: my notices (to me and to my teams), mark one or all read.

Another person's notice does not exist here: marking it read is a 404, like reading it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agents.notices import selectors, services
from agents.notices.models import Notice


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """My notices, newest first, unread ones marked; ``?unread=1`` shows only those."""
    notices = selectors.notices_for(request.user)
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        notices = notices.filter(is_read=False)
    page = Paginator(notices, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/notices/inbox.html",
        {
            "page": page,
            "only_unread": only_unread,
            "query": "unread=1" if only_unread else "",
            "section": "notices",
        },
    )


@login_required
@require_POST
def mark_read(request: HttpRequest, notice_id: int) -> HttpResponse:
    try:
        notice = services.notice_mark_read(notice_id=notice_id, user=request.user)
    except Notice.DoesNotExist:
        raise Http404("No such notice.") from None
    if request.POST.get("open") and notice.link.startswith("/"):
        return redirect(notice.link)
    return redirect("portal:notices")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.notices_mark_all_read(user=request.user)
    messages.success(request, f"Marked {count} notice{'s' if count != 1 else ''} read.")
    return redirect("portal:notices")
