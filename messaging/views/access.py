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
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def permission_view(*perms: str) -> Callable[[View], View]:
    """Wrap a view as an admin page that answers 403 to staff lacking ``perms``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorate


send_view = permission_view("messaging.send_message")
