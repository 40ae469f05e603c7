"""The console's own pages, mounted inside the admin at /admin/console/."""

from __future__ import annotations

from django.urls import path

from messaging.views import campaigns, compose, history

app_name = "messaging"

urlpatterns = [
    path("compose/", compose.compose, name="compose"),
    path("compose/refresh/", compose.refresh, name="compose-refresh"),
    path("compose/preview/", compose.preview, name="compose-preview"),
    path("compose/upload/", compose.upload, name="compose-upload"),
    path("compose/recipients/", compose.recipients, name="compose-recipients"),
    path("compose/pick/", compose.pick, name="compose-pick"),
    path("compose/save-template/", compose.save_template, name="compose-save-template"),
    path("files/<str:sha256>/thumbnail/", compose.thumbnail, name="file-thumbnail"),
    path("sent/<str:message_id>/", compose.sent, name="sent"),
    path("history/", history.history_list, name="history"),
    path("history/export.csv", history.history_export, name="history-export"),
    path("history/<str:message_id>/", history.history_detail, name="history-detail"),
    path("history/<str:message_id>/file/", history.history_file, name="history-file"),
    path("replies/", history.replies, name="replies"),
    path("campaigns/<int:pk>/", campaigns.campaign_page, name="campaign"),
    path("campaigns/<int:pk>/<str:action>/", campaigns.campaign_action, name="campaign-action"),
    path("change-log/", history.change_log, name="change-log"),
]
