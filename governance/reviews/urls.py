"""Portal routes of access reviews, mounted at /portal/reviews/."""

from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("new/", views.campaign_open, name="open"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/report/", views.campaign_report, name="report"),
    path("campaigns/<int:pk>/report.csv", views.campaign_csv, name="report-csv"),
    path("items/<int:pk>/", views.item_detail, name="item"),
]
