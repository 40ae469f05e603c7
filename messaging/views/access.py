"""Who may open which console page.

Console pages live inside the admin: ``admin_view`` demands an active staff login and adds
CSRF protection and no-cache headers, but checks no permission, so each page names its own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

View = Callable[..., HttpResponseBase]


def console_view(allowed: Callable[[Any], bool]) -> Callable[[View], View]:
    """Wrap a view as an admin page that answers 403 to staff for whom ``allowed`` is false."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not allowed(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorate


def permission_view(*perms: str) -> Callable[[View], View]:
    return console_view(lambda user: user.has_perms(perms))


send_view = permission_view("messaging.send_message")
#: The history: all of it with the view permission, one's own sends with the send permission.
history_view = console_view(
    lambda user: (
        user.has_perm("messaging.view_outboundmessage") or user.has_perm("messaging.send_message")
    )
)
