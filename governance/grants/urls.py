"""Portal routes, mounted at /portal/grant-requests/."""

from django.urls import path

from . import views

app_name = "grants"

urlpatterns = [
    path("", views.grant_request_list, name="list"),
    path("<int:pk>/", views.grant_request_detail, name="detail"),
]
