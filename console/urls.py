"""URL configuration: the console lives inside Django's admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from messaging.views.webhooks import dlg_webhook

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/console/", include("messaging.urls")),
    path("webhooks/dlg/<int:bot_id>/", dlg_webhook, name="dlg-webhook"),
    path("admin/", admin.site.urls),
]
