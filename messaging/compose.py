"""The compose form: what a member of staff typed, turned into an address and a message spec.

The form only adapts input. The platform's rules live in ``providers/specs.py`` and are applied
here through :func:`~messaging.providers.specs.validate`, whose errors are put back beside the
field they concern, so the page and the command line refuse exactly the same things.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import RegexValidator
from django.forms import formset_factory

from messaging import files, media
from messaging.choices import AddressKind, DocumentKind, MessageType, Provider
from messaging.models import (
    MESSAGE_ID_PATTERN,
    Bot,
    MessageTemplate,
    OutboundMessage,
    Recipient,
    StoredFile,
    new_message_id,
)
from messaging.providers.specs import (
    MAX_FILE_BYTES,
    MAX_QUICK_REPLIES,
    Address,
    CertainlyText,
    Document,
    FieldError,
    InvalidMessage,
    Message,
    QuickReplies,
    QuickReply,
    Text,
    Trigger,
    validate,
)
from messaging.templating import CONTENT_KEYS, PLACEHOLDER, MissingVariables, fill

#: Where a rule break reported by the specs is shown when its name is not a form field.
FIELD_FOR_ERROR = {"recipient": "recipient_value", "kind": "document_kind", "data": "trigger_data"}
BUTTON_FIELDS = ("title", "payload", "payload_seen_by_user", "payload_hidden", "image_url")


class QuickReplyForm(forms.Form):
    title = forms.CharField(required=False, max_length=200)
    payload = forms.CharField(required=False, max_length=2000)
    payload_seen_by_user = forms.CharField(
        label="Text shown to the user", required=False, max_length=2000
    )
    payload_hidden = forms.BooleanField(label="Hidden payload", required=False)
    # A CharField, not a URLField: the http(s)-only rule and its message come from the specs.
    image_url = forms.CharField(label="Icon URL", required=False, max_length=2000)


# absolute_max bounds what a crafted POST can make us build; the 11-button rule itself is the
# platform's and is reported by the specs with a plain message.
QuickReplyFormSet = formset_factory(
    QuickReplyForm, extra=0, max_num=MAX_QUICK_REPLIES, absolute_max=MAX_QUICK_REPLIES + 5
)


class ComposeForm(forms.Form):
    message_id = forms.CharField(
        widget=forms.HiddenInput,
        validators=[RegexValidator(MESSAGE_ID_PATTERN, "This form has expired; reload the page.")],
    )
    bot = forms.ModelChoiceField(queryset=Bot.objects.none(), empty_label=None)
    message_type = forms.ChoiceField(label="Message type", choices=MessageType.choices)
    template = forms.ModelChoiceField(
        queryset=MessageTemplate.objects.none(), required=False, empty_label="(none)"
    )
    recipient = forms.ModelChoiceField(
        queryset=Recipient.objects.all(), required=False, widget=forms.HiddenInput
    )
    recipient_kind = forms.ChoiceField(label="Id kind", choices=AddressKind.choices, required=False)
    recipient_value = forms.CharField(label="Recipient id", required=False, max_length=200)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    file = forms.FileField(required=False)
    stored_file = forms.CharField(widget=forms.HiddenInput, required=False)
    file_name = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)
    document_kind = forms.ChoiceField(
        label="Send as", choices=DocumentKind.choices, initial=DocumentKind.FILE, required=False
    )
    width = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    height = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    duration = forms.IntegerField(label="Duration (s)", required=False, min_value=0)
    command = forms.CharField(required=False, max_length=500)
    trigger_data = forms.CharField(label="Data", required=False, max_length=10_000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._field("bot").queryset = Bot.objects.filter(is_active=True)
        self.chosen_bot = self._chosen_bot()
        provider = self.chosen_bot.provider if self.chosen_bot else Provider.DLG
        self.provider = provider
        self.type_choices = [
            (kind.value, kind.label) for kind in MessageType.for_provider(provider)
        ]
        self.kind_choices = [
            (kind.value, kind.label) for kind in AddressKind.for_provider(provider)
        ]
        self._field("message_type").choices = self.type_choices
        self._field("recipient_kind").choices = self.kind_choices
        self._field("template").queryset = MessageTemplate.objects.filter(
            message_type__in=[kind.value for kind in MessageType.for_provider(provider)]
        )
        prefix = self.add_prefix("buttons") if self.prefix else "buttons"
        self.buttons = QuickReplyFormSet(
            self.data if self.is_bound else None,
            prefix=prefix,
            initial=self.initial.get("buttons"),
        )
        self.buttons_errors: list[str] = []
        self.preview_problems: list[FieldError] = []
        self.stored: StoredFile | None = None
        self.address: Address | None = None
        self.recipient_obj: Recipient | None = None
        self.message: Message | None = None

    @classmethod
    def blank(cls, **initial: Any) -> ComposeForm:
        """A fresh form with its one-time key: the message id it will send under."""
        return cls(initial={"message_id": new_message_id(), **initial})

    def _field(self, name: str) -> Any:
        """A field, typed loosely: the stubs know only ``Field``, not its subclasses' extras."""
        return self.fields[name]

    def _chosen_bot(self) -> Bot | None:
        raw = self.data.get(self.add_prefix("bot")) if self.is_bound else self.initial.get("bot")
        bots = self._field("bot").queryset
        if isinstance(raw, Bot):
            return raw
        chosen = bots.filter(pk=raw).first() if str(raw or "").isdigit() else None
        return chosen or bots.first()

    @property
    def chosen_type(self) -> str:
        """The message type in play, valid for the bot's platform even before validation."""
        choices = [value for value, _ in self.type_choices]
        raw = self.data.get("message_type") if self.is_bound else self.initial.get("message_type")
        return str(raw) if raw in choices else choices[0]

    @classmethod
    def echo(cls, data: Any) -> ComposeForm:
        """An unbound form showing posted values without judging them.

        Used when the page re-draws part of itself (another bot, another type, a button added)
        so that nothing typed is lost and no error is shown before the user asks to send.
        """
        initial: dict[str, Any] = {name: data.get(name, "") for name in cls.base_fields}
        initial.pop("file")
        total = data.get("buttons-TOTAL_FORMS", "0")
        count = min(int(total) if total.isdigit() else 0, MAX_QUICK_REPLIES + 5)
        initial["buttons"] = [
            {
                key: bool(data.get(f"buttons-{index}-{key}"))
                if key == "payload_hidden"
                else data.get(f"buttons-{index}-{key}", "")
                for key in BUTTON_FIELDS
            }
            for index in range(count)
        ]
        return cls(initial=initial)

    def lenient(self) -> tuple[Address, Message | None]:
        """Address and message as far as they are typed, for the live preview."""
        values = self.initial
        picked = str(values.get("recipient") or "")
        recipient = Recipient.objects.filter(pk=picked).first() if picked.isdigit() else None
        if recipient is not None:
            address = Address(recipient.kind, recipient.value)
        else:
            kinds = [value for value, _ in self.kind_choices]
            typed = str(values.get("recipient_kind") or "")
            kind = typed if typed in kinds else kinds[0]
            address = Address(kind, str(values.get("recipient_value") or "").strip())
            recipient = Recipient.objects.filter(kind=kind, value=address.value).first()
        self.recipient_obj = recipient
        cleaned = {
            key: values.get(key) or ""
            for key in (
                "text",
                "command",
                "trigger_data",
                "stored_file",
                "file_name",
                "document_kind",
            )
        }
        for key in ("width", "height", "duration"):
            raw = str(values.get(key) or "")
            cleaned[key] = int(raw) if raw.isdigit() else None
        return address, self.build_message(cleaned, strict=False)

    # Validation --------------------------------------------------------------------------

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if self.chosen_type == MessageType.QUICK_REPLIES:
            button_errors = any(form.errors for form in self.buttons.forms)
            valid = valid and not self.buttons_errors and not button_errors
        return valid

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        self._clean_recipient(cleaned)
        message = self.build_message(cleaned, strict=True)
        if self.errors or message is None or self.address is None:
            return cleaned
        try:
            validate(self.address, message, cleaned["bot"].provider)
        except InvalidMessage as err:
            self.add_field_errors(err.errors)
        self.message = message
        return cleaned

    def _clean_recipient(self, cleaned: dict[str, Any]) -> None:
        chosen: Recipient | None = cleaned.get("recipient")
        value = (cleaned.get("recipient_value") or "").strip()
        kind = cleaned.get("recipient_kind") or ""
        if chosen and value:
            self.add_error(
                "recipient_value",
                "Choose a recipient from the directory or type an id, not both.",
            )
            return
        if chosen:
            if chosen.provider != cleaned["bot"].provider:
                self.add_error("recipient_value", f"{chosen} cannot be reached by this bot.")
                return
            self.recipient_obj = chosen
            self.address = Address(chosen.kind, chosen.value)
            return
        if not value:
            self.add_error("recipient_value", "Choose a recipient or type their id.")
            return
        if not kind:
            self.add_error("recipient_kind", "Say which kind of id this is.")
            return
        # A typed id that is in the directory gets its attributes for placeholders.
        self.recipient_obj = Recipient.objects.filter(kind=kind, value=value).first()
        self.address = Address(kind, value)

    def variables(self) -> dict[str, Any]:
        return dict(self.recipient_obj.attributes) if self.recipient_obj else {}

    def _filled(self, name: str, value: str, strict: bool) -> str:
        """Fill placeholders in one field, reporting a missing variable beside that field."""
        try:
            return fill(value, self.variables())
        except MissingVariables as err:
            if strict:
                self.add_error(name if name in self.fields else None, str(err))
            else:
                self.preview_problems.append(FieldError(name, str(err)))
            return value

    def build_message(self, cleaned: dict[str, Any], *, strict: bool) -> Message | None:
        """The message the form describes; ``strict`` reports problems as form errors."""
        message_type = self.chosen_type
        text = self._filled("text", cleaned.get("text") or "", strict)
        if message_type == MessageType.TEXT:
            return Text(text)
        if message_type == MessageType.CERTAINLY_TEXT:
            return CertainlyText(text)
        if message_type == MessageType.TRIGGER:
            return Trigger(
                text,
                self._filled("command", cleaned.get("command") or "", strict),
                self._filled("trigger_data", cleaned.get("trigger_data") or "", strict),
            )
        if message_type == MessageType.QUICK_REPLIES:
            return QuickReplies(text, tuple(self._buttons(strict)))
        return self._document(cleaned, strict)

    def _buttons(self, strict: bool) -> list[QuickReply]:
        result = []
        for form in self.buttons.forms:
            data: dict[str, Any] = {}
            if not self.is_bound:
                data = dict(form.initial)
            elif form.is_valid():
                data = form.cleaned_data
            values = {}
            for name in ("title", "payload", "payload_seen_by_user", "image_url"):
                raw = data.get(name) or ""
                try:
                    values[name] = fill(raw, self.variables())
                except MissingVariables as err:
                    if strict:
                        form.add_error(name, str(err))
                    else:
                        self.preview_problems.append(FieldError(f"buttons.{name}", str(err)))
                    values[name] = raw
            result.append(QuickReply(payload_hidden=bool(data.get("payload_hidden")), **values))
        return result

    def _document(self, cleaned: dict[str, Any], strict: bool) -> Document | None:
        upload: UploadedFile | None = cleaned.get("file")
        kind = cleaned.get("document_kind") or DocumentKind.FILE
        try:
            if upload is not None:
                if upload.size is not None and upload.size > MAX_FILE_BYTES:
                    raise media.MediaError(too_large(upload.size))
                data = media.read_limited(upload)
                name = upload.name or "file"
                self.stored = files.store(data)
            else:
                self.stored = files.find(cleaned.get("stored_file") or "")
                if self.stored is None:
                    if strict:
                        self.add_error("file", "Choose a file.")
                    return None
                data = files.read(self.stored)
                name = cleaned.get("file_name") or "file"
            return media.document_from_upload(
                name,
                data,
                kind,
                width=cleaned.get("width"),
                height=cleaned.get("height"),
                duration=cleaned.get("duration"),
            )
        except media.MediaError as err:
            if strict:
                self.add_error("file", str(err))
            else:
                self.preview_problems.append(FieldError("file", str(err)))
            return None

    def add_field_errors(self, errors: list[FieldError]) -> None:
        """Put each rule break beside its field; button errors beside the button's field."""
        for error in errors:
            parts = error.field.split(".")
            if parts[0] == "buttons" and len(parts) == 3 and parts[1].isdigit():
                index = int(parts[1])
                if index < len(self.buttons.forms):
                    self.buttons.forms[index].add_error(parts[2], error.message)
                else:
                    self.buttons_errors.append(error.message)
            elif parts[0] == "buttons":
                self.buttons_errors.append(error.message)
            elif error.field in FIELD_FOR_ERROR:
                self.add_error(FIELD_FOR_ERROR[error.field], error.message)
            elif error.field in self.fields:
                self.add_error(error.field, error.message)
            else:
                self.add_error(None, error.message)

    # Templates -----------------------------------------------------------------------------

    def template_content(self) -> dict[str, Any]:
        """The content fields as a template stores them, placeholders kept (from :meth:`echo`)."""
        values = self.initial
        content: dict[str, Any] = {
            "text": values.get("text", ""),
            "command": values.get("command", ""),
            "data": values.get("trigger_data", ""),
            "buttons": [
                {key: value for key, value in button.items() if value not in ("", False)}
                for button in values.get("buttons", [])
            ],
        }
        allowed = CONTENT_KEYS.get(self.chosen_type, ())
        return {key: value for key, value in content.items() if key in allowed}


def too_large(size: int) -> str:
    return f"The file is {size:,} bytes; DLG accepts files up to {MAX_FILE_BYTES:,} bytes (5 MB)."


def template_initial(template: MessageTemplate) -> dict[str, Any]:
    """Compose-form values that pre-fill the form from a saved template."""
    content = template.content
    initial: dict[str, Any] = {
        "message_type": template.message_type,
        "template": template.pk,
        "text": content.get("text", ""),
        "command": content.get("command", ""),
        "trigger_data": content.get("data", ""),
    }
    if template.message_type == MessageType.QUICK_REPLIES:
        initial["buttons"] = [
            {key: button.get(key, "") for key in BUTTON_FIELDS} for button in content["buttons"]
        ]
    return initial


def has_placeholders(value: str) -> bool:
    return bool(PLACEHOLDER.search(value or ""))


def initial_from_record(record: OutboundMessage) -> dict[str, Any]:
    """Compose-form values that repeat a message from the history, file included."""
    body = record.request_body
    message = body.get("message", {}) if isinstance(body.get("message"), dict) else {}
    initial: dict[str, Any] = {
        "bot": record.bot_id,
        "message_type": record.message_type,
        "recipient_kind": record.recipient_kind,
        "recipient_value": record.recipient_value,
        "text": message.get("text", body.get("text_message", "")),
    }
    trigger = message.get("trigger") or {}
    initial.update(command=trigger.get("command", ""), trigger_data=trigger.get("data", ""))
    initial["buttons"] = [
        {
            "title": button.get("title", ""),
            "payload": button.get("payload", ""),
            "payload_seen_by_user": button.get("payloadSeenByUser", ""),
            "payload_hidden": bool(button.get("payloadHidden")),
            "image_url": button.get("imageUrl", ""),
        }
        for button in message.get("quickRepliesV2", [])
    ]
    document = message.get("document") or {}
    if document and record.file is not None:
        kind = next((key for key in ("photo", "video", "voice") if key in document), "file")
        sizes = document.get(kind, {}) if kind != "file" else {}
        initial.update(
            stored_file=record.file.sha256,
            file_name=document.get("fileName", ""),
            document_kind=kind,
            **{key: sizes.get(key, "") for key in ("width", "height", "duration")},
        )
    return initial
