from django.urls import path

from .views import ApprovalDecide, ApprovalDetail, ApprovalList

urlpatterns = [
    path("approvals", ApprovalList.as_view(), name="approval-list"),
    path("approvals/<uuid:pk>", ApprovalDetail.as_view(), name="approval-detail"),
    path(
        "approvals/<uuid:pk>/approve",
        ApprovalDecide.as_view(approve=True),
        name="approval-approve",
    ),
    path("approvals/<uuid:pk>/deny", ApprovalDecide.as_view(approve=False), name="approval-deny"),
]
