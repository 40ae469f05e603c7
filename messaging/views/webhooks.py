"""The endpoint DLG posts events to: one URL per bot, signed with the bot's app secret."""

from __future__ import annotations

import logging

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt

from messaging import events
from messaging.choices import Provider
from messaging.models import Bot
from messaging.webhooks import MAX_BODY_BYTES, EnvelopeError, verify

logger = logging.getLogger(__name__)


def _too_large() -> HttpResponse:
    return HttpResponse(
        f"Request body larger than {MAX_BODY_BYTES} bytes.", status=413, content_type="text/plain"
    )


@csrf_exempt  # the platform cannot hold a CSRF token; the HMAC signature authenticates it
def dlg_webhook(request: HttpRequest, bot_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    bot = Bot.objects.filter(pk=bot_id, provider=Provider.DLG).first()
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        logger.warning("Webhook for bot id %s refused: body of %s bytes", bot_id, declared)
        return _too_large()
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _too_large()
    form = verify(body, request.headers.get("X-Signature"), bot.webhook_secret if bot else "")
    if bot is None or form is None:
        reason = "unknown bot" if bot is None else "missing or wrong X-Signature"
        logger.warning("Webhook for bot id %s refused: %s", bot_id, reason)
        return HttpResponseForbidden("Signature check failed.", content_type="text/plain")
    try:
        batch, new = events.receive(bot, body, form)
    except EnvelopeError as err:
        logger.warning("Webhook for bot %s not understood: %s", bot.name, err)
        return HttpResponse(str(err), status=400, content_type="text/plain")
    return JsonResponse({"received": batch.event_count, "new": new})
