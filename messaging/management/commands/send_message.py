"""Send one message from the command line, through the same validation and send path as the page.

The command only turns options into a bot, an address and a message spec; ``services.send``
validates, records and sends. A refused message prints each problem as ``field: message`` and
exits 1 with nothing sent; a platform failure exits 1 with the platform's answer in plain words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging import files, media, services
from messaging.choices import Provider, Status
from messaging.models import Bot, MessageTemplate, OutboundMessage, Recipient, StoredFile
from messaging.providers.specs import (
    DOCUMENT_KINDS,
    Address,
    CertainlyText,
    FieldError,
    InvalidMessage,
    Message,
    QuickReplies,
    QuickReply,
    Text,
    Trigger,
    validate,
)
from messaging.templating import MissingVariables, render

#: Recipient option → the platform's address kind.
RECIPIENT_OPTIONS = {
    "customer": "appCustomerId",
    "staff": "appStaffId",
    "user_id": "id",
    "certainly_user": "user_id",
}
DOCUMENT_OPTIONS = ("as_kind", "width", "height", "duration")


def _pairs(values: list[str] | None, option: str, shape: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` arguments, split at the first ``=``; the key must not be empty."""
    pairs = []
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"{option} takes {shape}; got “{value}”.")
        pairs.append((key.strip(), rest))
    return pairs


class Command(BaseCommand):
    help = (
        "Send one message (text, quick replies, document, trigger or template) to one "
        "recipient, validated and recorded like a message sent from the compose page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bot", required=True, help="The bot's name.")
        recipient = parser.add_mutually_exclusive_group(required=True)
        recipient.add_argument("--customer", metavar="ID", help="DLG customer id.")
        recipient.add_argument("--staff", metavar="ID", help="DLG staff id.")
        recipient.add_argument("--user-id", metavar="ID", help="DLG user id.")
        recipient.add_argument("--certainly-user", metavar="ID", help="Certainly user id.")
        parser.add_argument("--as-user", metavar="USERNAME", help="Record this user as sender.")
        content = parser.add_mutually_exclusive_group()
        content.add_argument("--document", metavar="PATH", help="Send this file.")
        content.add_argument("--trigger", metavar="COMMAND", help="Trigger an app command.")
        content.add_argument("--template", metavar="NAME", help="Send this message template.")
        parser.add_argument(
            "--text",
            help="The message text; with --trigger the notification; with --document a "
            "separate text sent after the file is accepted.",
        )
        parser.add_argument(
            "--quick-reply",
            action="append",
            metavar="TITLE=PAYLOAD",
            help="A quick-reply button (repeat for more); needs --text.",
        )
        parser.add_argument("--data", help="Data handed to the app with --trigger.")
        parser.add_argument(
            "--as",
            dest="as_kind",
            choices=DOCUMENT_KINDS,
            help="How DLG shows the document (default: guessed from the file's content).",
        )
        parser.add_argument("--width", type=int, help="Video width (photos use their pixels).")
        parser.add_argument("--height", type=int, help="Video height (photos use their pixels).")
        parser.add_argument("--duration", type=int, help="Voice or video length in seconds.")
        parser.add_argument(
            "--var",
            action="append",
            metavar="KEY=VALUE",
            help="A template variable, overriding the recipient's attribute of that name.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._check_combination(options)
        bot = self._bot(options["bot"])
        sender = self._sender(options["as_user"])
        option = next(name for name in RECIPIENT_OPTIONS if options[name] is not None)
        address = Address(RECIPIENT_OPTIONS[option], options[option])
        recipient = Recipient.objects.filter(kind=address.kind, value=address.value).first()
        try:
            if options["document"] is not None:
                self._send_document(bot, address, recipient, sender, options)
                return
            template = None
            if options["template"] is not None:
                template, message = self._from_template(options, recipient)
            else:
                message = self._message(bot, options)
            self._send(bot, address, message, sender, recipient, template=template)
        except InvalidMessage as err:
            self._refuse(err.errors)

    # Options ------------------------------------------------------------------------------

    def _check_combination(self, options: dict[str, Any]) -> None:
        """Exactly one kind of content, and only the options that kind uses."""
        document, trigger, template = (options[k] for k in ("document", "trigger", "template"))
        used = {name for name, value in options.items() if value is not None}
        allowed_with = {
            "document": {"text", *DOCUMENT_OPTIONS},
            "trigger": {"text", "data"},
            "template": {"var"},
        }
        chosen = next((k for k in allowed_with if options[k] is not None), None)
        extras = {"text", "quick_reply", "data", "var", *DOCUMENT_OPTIONS}
        allowed = allowed_with[chosen] if chosen else {"text", "quick_reply"}
        misplaced = sorted((used & extras) - allowed)
        if misplaced:
            names = ", ".join(
                "--" + ("as" if n == "as_kind" else n.replace("_", "-")) for n in misplaced
            )
            context = f"--{chosen}" if chosen else "--text"
            raise CommandError(f"{names} cannot be used with {context}.")
        if document is None and template is None and options["text"] is None:
            what = "--trigger needs --text" if trigger is not None else None
            raise CommandError(
                f"{what}." if what else "Give one of --text, --document, --trigger or --template."
            )

    def _bot(self, name: str) -> Bot:
        bot = Bot.objects.filter(name=name).first()
        if bot is None:
            raise CommandError(f"No bot is named “{name}”.")
        try:
            services.check_sendable(bot)
        except InvalidMessage as err:
            self._refuse(err.errors)
        return bot

    def _sender(self, username: str | None) -> User | None:
        if username is None:
            return None
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user is named “{username}”.")
        return user

    def _message(self, bot: Bot, options: dict[str, Any]) -> Message:
        text = options["text"]
        buttons = _pairs(options["quick_reply"], "--quick-reply", "TITLE=PAYLOAD")
        if options["trigger"] is not None:
            return Trigger(text=text, command=options["trigger"], data=options["data"] or "")
        if bot.provider == Provider.CERTAINLY:
            if buttons:
                raise CommandError("Certainly bots send plain text; --quick-reply needs DLG.")
            return CertainlyText(text)
        if buttons:
            return QuickReplies(
                text, tuple(QuickReply(title, payload) for title, payload in buttons)
            )
        return Text(text)

    def _from_template(
        self, options: dict[str, Any], recipient: Recipient | None
    ) -> tuple[MessageTemplate, Message]:
        template = MessageTemplate.objects.filter(name=options["template"]).first()
        if template is None:
            raise CommandError(f"No message template is named “{options['template']}”.")
        variables = dict(recipient.attributes) if recipient else {}
        variables.update(_pairs(options["var"], "--var", "NAME=VALUE"))
        try:
            return template, render(template.message_type, template.content, variables)
        except MissingVariables as err:
            raise CommandError(f"{err} Give it with --var NAME=VALUE.") from None

    # Sending ------------------------------------------------------------------------------

    def _send_document(
        self,
        bot: Bot,
        address: Address,
        recipient: Recipient | None,
        sender: User | None,
        options: dict[str, Any],
    ) -> None:
        """The document, then any ``--text`` as its own message: DLG's document has no text."""
        path = Path(options["document"])
        try:
            with path.open("rb") as handle:
                data = media.read_limited(handle)
            kind = options["as_kind"] or media.inspect(path.name, data).kind_guess
            document = media.document_from_upload(
                path.name,
                data,
                kind,
                width=options["width"],
                height=options["height"],
                duration=options["duration"],
            )
        except media.MediaError as err:
            self._refuse([FieldError("file", str(err))])
        except OSError as err:
            raise CommandError(f"Cannot read {path}: {err.strerror or err}.") from None
        text = Text(options["text"]) if options["text"] is not None else None
        # Both are checked before either is sent, so a bad text cannot follow a sent file.
        for message in (document, text):
            if message is not None:
                validate(address, message, bot.provider)
        stored = files.store(data)
        record = self._send(bot, address, document, sender, recipient, stored=stored)
        if text is not None and record.status == Status.ACCEPTED:
            self._send(bot, address, text, sender, recipient)

    def _send(
        self,
        bot: Bot,
        address: Address,
        message: Message,
        sender: User | None,
        recipient: Recipient | None,
        template: MessageTemplate | None = None,
        stored: StoredFile | None = None,
    ) -> OutboundMessage:
        record = services.send(
            bot=bot,
            address=address,
            message=message,
            sender=sender,
            recipient=recipient,
            template=template,
            file=stored,
        )
        line = f"{record.message_type} {record.message_id}: {record.status}"
        if record.platform_recipient_id:
            line += f" (platform recipient id {record.platform_recipient_id})"
        self.stdout.write(line)
        if record.status in (Status.FAILED, Status.UNKNOWN):
            raise CommandError(record.error_message or f"The message ended {record.status}.")
        return record

    def _refuse(self, errors: list[FieldError]) -> NoReturn:
        for error in errors:
            self.stderr.write(f"{error.field}: {error.message}")
        raise CommandError("Nothing was sent.")
