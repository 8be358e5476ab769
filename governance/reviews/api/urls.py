"""Routes of the access review API, mounted at ``/api/v1/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("reviews/campaigns", views.CampaignList.as_view(), name="review-campaign-list"),
    path(
        "reviews/campaigns/<int:pk>", views.CampaignDetail.as_view(), name="review-campaign-detail"
    ),
    path(
        "reviews/campaigns/<int:pk>/close",
        views.CampaignClose.as_view(),
        name="review-campaign-close",
    ),
    path(
        "reviews/campaigns/<int:pk>/report",
        views.CampaignReport.as_view(),
        name="review-campaign-report",
    ),
    path("reviews/items", views.ItemList.as_view(), name="review-item-list"),
    path("reviews/items/<int:pk>", views.ItemDetail.as_view(), name="review-item-detail"),
    path("reviews/items/<int:pk>/decide", views.ItemDecide.as_view(), name="review-item-decide"),
    path("reviews/items/<int:pk>/answer", views.ItemAnswer.as_view(), name="review-item-answer"),
    path(
        "reviews/items/<int:pk>/sign-off", views.ItemSignOff.as_view(), name="review-item-sign-off"
    ),
    path("agents/<slug:slug>/evidence", views.AgentEvidence.as_view(), name="agent-evidence"),
]
