"""Portal routes of version scope reviews, mounted at /portal/scope-reviews/."""

from django.urls import path

from . import views

app_name = "scope_reviews"

urlpatterns = [
    path("", views.scope_review_list, name="list"),
    path("<int:pk>/", views.scope_review_detail, name="detail"),
]
