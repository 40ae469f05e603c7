"""URL configuration: the console lives inside Django's admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/console/", include("messaging.urls")),
    path("admin/", admin.site.urls),
]
