"""The compose page and the htmx endpoints that redraw parts of it.

One template (``messaging/compose.html``) holds the page and its named partials; htmx requests
get the partial of the same template the full page uses.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from messaging import files, media, services
from messaging.choices import AddressKind, MessageType
from messaging.compose import ComposeForm, initial_from_record, template_initial, too_large
from messaging.models import MessageTemplate, OutboundMessage, Recipient
from messaging.providers.specs import MAX_FILE_BYTES, InvalidMessage
from messaging.views.access import send_view

TEMPLATE = "messaging/compose.html"
CHANGED = "compose-changed"


def _page(request: HttpRequest, form: ComposeForm, **extra: Any) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "title": "Compose a message",
        "form": form,
        "max_file_bytes": MAX_FILE_BYTES,
        "can_save_template": request.user.has_perm("messaging.add_messagetemplate"),
        **extra,
    }


def _partial(request: HttpRequest, name: str, form: ComposeForm, **extra: Any) -> HttpResponse:
    return render(request, f"{TEMPLATE}#{name}", _page(request, form, **extra))


@send_view
def compose(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "refresh" in request.POST:
        # Without JavaScript, "Update form" redraws the page for another bot or type.
        return render(request, TEMPLATE, _page(request, ComposeForm.echo(request.POST)))
    if request.method == "POST":
        form = ComposeForm(request.POST, request.FILES)
        if form.is_valid():
            response = _send(request, form)
            if response is not None:
                return response
        return render(request, TEMPLATE, _page(request, form, show_errors=True), status=200)
    return render(request, TEMPLATE, _page(request, _initial_form(request)))


def _initial_form(request: HttpRequest) -> ComposeForm:
    initial: dict[str, Any] = {}
    params = request.GET
    if params.get("bot", "").isdigit():
        initial["bot"] = params["bot"]
    if params.get("recipient", "").isdigit():
        initial["recipient"] = params["recipient"]
    if params.get("template", "").isdigit():
        template = MessageTemplate.objects.filter(pk=params["template"]).first()
        if template is not None:
            initial.update(template_initial(template))
    if params.get("from"):
        record = OutboundMessage.objects.filter(message_id=params["from"]).first()
        if record is not None and _may_see(request, record):
            initial.update(initial_from_record(record))
    return ComposeForm.blank(**initial)


def _send(request: HttpRequest, form: ComposeForm) -> HttpResponse | None:
    if form.address is None or form.message is None:  # a valid form always has both
        raise RuntimeError("A valid compose form must have an address and a message.")
    try:
        record = services.send(
            bot=form.cleaned_data["bot"],
            address=form.address,
            message=form.message,
            sender=request.user,  # type: ignore[arg-type]
            recipient=form.recipient_obj,
            template=form.cleaned_data.get("template"),
            message_id=form.cleaned_data["message_id"],
            file=form.stored,
        )
    except services.AlreadySent as err:
        if err.record.sender_id != request.user.pk:
            form.add_error(None, "This form was already used. Reload the page to start again.")
            return None
        messages.info(request, "This form was already sent once; here is what happened then.")
        record = err.record
    except InvalidMessage as err:
        form.add_field_errors(err.errors)
        return None
    return redirect("messaging:sent", message_id=record.message_id)


@send_view
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Redraw the form (or its buttons) for another bot, type, template or button count."""
    data = request.POST.copy()
    action = data.get("action", "")
    if action == "template":
        template = MessageTemplate.objects.filter(pk=data.get("template") or 0).first()
        if template is not None:
            _apply_template(data, template)
    elif action == "add-button":
        total = int(data.get("buttons-TOTAL_FORMS", "0") or 0)
        data["buttons-TOTAL_FORMS"] = str(total + 1)
    elif action == "clear-file":
        data["stored_file"] = data["file_name"] = ""
    elif action.startswith("remove-button-") and action.removeprefix("remove-button-").isdigit():
        _remove_button(data, int(action.removeprefix("remove-button-")))
    form = ComposeForm.echo(data)
    part = str(data.get("part")) if data.get("part") in ("buttons", "document") else "form"
    response = _partial(request, part, form)
    response["HX-Trigger"] = CHANGED
    return response


def _apply_template(data: QueryDict, template: MessageTemplate) -> None:
    initial = template_initial(template)
    for key in ("message_type", "text", "command", "trigger_data"):
        data[key] = initial.get(key, "")
    for key in [key for key in data if key.startswith("buttons-")]:
        del data[key]
    buttons = initial.get("buttons", [])
    data["buttons-TOTAL_FORMS"] = str(len(buttons))
    for index, button in enumerate(buttons):
        for key, value in button.items():
            if value not in ("", False):
                data[f"buttons-{index}-{key}"] = "on" if value is True else str(value)


def _remove_button(data: QueryDict, index: int) -> None:
    total = int(data.get("buttons-TOTAL_FORMS", "0") or 0)
    rows = [
        {key: data.get(f"buttons-{row}-{key}", "") for key in _BUTTON_KEYS}
        for row in range(total)
        if row != index
    ]
    for key in [key for key in data if key.startswith("buttons-")]:
        del data[key]
    data["buttons-TOTAL_FORMS"] = str(len(rows))
    for row, values in enumerate(rows):
        for key, value in values.items():
            if value:
                data[f"buttons-{row}-{key}"] = value


_BUTTON_KEYS = ("title", "payload", "payload_seen_by_user", "payload_hidden", "image_url")


@send_view
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The phone bubble and the exact JSON for what is typed so far."""
    form = ComposeForm.echo(request.POST)
    address, message = form.lenient()
    result = None
    if form.chosen_bot is not None and message is not None:
        result = services.preview(
            bot=form.chosen_bot,
            address=address,
            message=message,
            message_id=form.initial.get("message_id") or "(assigned when sent)",
        )
    problems = [*form.preview_problems, *(result.problems if result else [])]
    return _partial(
        request,
        "preview",
        form,
        message=message,
        address=address,
        result=result,
        problems=problems,
        stored=files.find(form.initial.get("stored_file") or ""),
    )


@send_view
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """Keep a chosen file and show what was read from it, before anything is sent."""
    data = request.POST.copy()
    upload_file = request.FILES.get("file")
    error = ""
    if upload_file is None:
        error = "Choose a file."
    elif upload_file.size is not None and upload_file.size > MAX_FILE_BYTES:
        error = too_large(upload_file.size)
    else:
        try:
            content = media.read_limited(upload_file)
            info = media.inspect(upload_file.name or "file", content)
            # "Plain file" is the default: a recognised photo, video or voice file goes as one,
            # unless the user picked another rendering on purpose.
            kind = data.get("document_kind") or "file"
            if kind == "file" or kind not in ("photo", "video", "voice"):
                kind = info.kind_guess
            if kind == "photo":
                info_size = media.photo_size(content)
                data["width"], data["height"] = (str(side) for side in info_size)
            else:
                for key in ("width", "height", "duration"):
                    value = getattr(info, key)
                    if value is not None and not data.get(key):
                        data[key] = str(value)
            stored = files.store(content)
            data["stored_file"] = stored.sha256
            data["file_name"] = upload_file.name or "file"
            data["document_kind"] = kind
        except media.MediaError as err:
            error = str(err)
    if error:
        data["stored_file"] = ""
        data["file_name"] = ""
    form = ComposeForm.echo(data)
    response = _partial(request, "document", form, upload_error=error)
    response["HX-Trigger"] = CHANGED
    return response


@send_view
@require_GET
def thumbnail(request: HttpRequest, sha256: str) -> HttpResponse:
    stored = files.find(sha256)
    if stored is None:
        raise Http404("No such file.")
    try:
        image = media.thumbnail(files.read(stored))
    except media.MediaError as err:
        raise Http404("Not an image.") from err
    content_type = "image/png" if image.startswith(b"\x89PNG") else "image/jpeg"
    response = HttpResponse(image, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@send_view
@require_GET
def recipients(request: HttpRequest) -> HttpResponse:
    """Directory matches for what is typed in the recipient search, for this bot's platform."""
    form = ComposeForm.echo(request.GET)
    query = request.GET.get("q", "").strip()
    kinds = [kind.value for kind in AddressKind.for_provider(form.provider)]
    matches = Recipient.objects.none()
    if query:
        matches = Recipient.objects.filter(kind__in=kinds).filter(
            Q(name__icontains=query) | Q(value__istartswith=query)
        )[:10]
    return _partial(request, "matches", form, matches=matches, query=query)


@send_view
@require_GET
def pick(request: HttpRequest) -> HttpResponse:
    """Set (or clear) the directory recipient and redraw the recipient block."""
    data = request.GET.copy()
    picked = data.get("recipient", "")
    if picked and not Recipient.objects.filter(pk=picked if picked.isdigit() else 0).exists():
        raise Http404("No such recipient.")
    data["recipient_value"] = ""
    response = _partial(request, "recipient", ComposeForm.echo(data))
    response["HX-Trigger"] = CHANGED
    return response


@send_view
@require_POST
def save_template(request: HttpRequest) -> HttpResponse:
    """Store the current content, placeholders and all, as a reusable template."""
    if not request.user.has_perm("messaging.add_messagetemplate"):
        raise PermissionDenied
    form = ComposeForm.echo(request.POST)
    name = request.POST.get("template_name", "").strip()
    template = MessageTemplate(
        name=name,
        message_type=form.chosen_type,
        content=form.template_content(),
        created_by=request.user,  # type: ignore[misc]
    )
    error = ""
    if form.chosen_type == MessageType.DOCUMENT:
        error = "Documents cannot be saved as templates."
    elif not name:
        error = "Give the template a name."
    elif MessageTemplate.objects.filter(name=name).exists():
        error = f"A template named “{name}” exists already; choose another name."
    else:
        try:
            template.full_clean()
        except Exception as err:
            error = " ".join(getattr(err, "messages", [str(err)]))
    if not error:
        template.save()
    return _partial(request, "saved", form, saved=None if error else template, save_error=error)


def _may_see(request: HttpRequest, record: OutboundMessage) -> bool:
    user = request.user
    return record.sender_id == user.pk or user.has_perm("messaging.view_outboundmessage")


@send_view
@require_GET
def sent(request: HttpRequest, message_id: str) -> HttpResponse:
    """What happened to a message just sent: ids and timing, or the error in plain words."""
    record = get_object_or_404(OutboundMessage.objects.select_related("bot"), message_id=message_id)
    if not _may_see(request, record):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Message sent" if record.status == "accepted" else "Message not sent",
        "record": record,
    }
    return render(request, "messaging/sent.html", context)
