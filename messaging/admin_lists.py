"""Recipient lists in the admin, with members added by hand or imported from a CSV file.

The import is two steps on one page. The upload is checked row by row and nothing is
saved; if every row is good the file is kept in the content-addressed store and the
confirmation posts back only its SHA-256, signed. Storing beats signing the parsed rows:
a 5 MB file's rows, signed, would travel to the browser and back and overflow Django's
2.5 MB limit on form data, and re-reading the file on confirmation re-checks it against
the directory as it is then. The hash is signed, bound to the list and the user, so a
confirmation can name no other stored file (message attachments live in the same store).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from messaging import files, list_import
from messaging.list_import import Counts, ImportRefused, ParsedFile, Row
from messaging.models import RecipientList, RecipientListMember

#: Past this many members the change form shows a link to them instead of an inline: every
#: inline row is a form field (and a query for its label), which a big list cannot afford.
MAX_INLINE_MEMBERS = 200

#: Rows of the report shown, errors first in importance: a page of 100,000 table rows is
#: more than a browser (or a person) handles, and the counts above the table cover them all.
MAX_REPORT_ROWS = 2_000
MAX_REPORT_ERRORS = 5_000

_SALT = "messaging.list_import"
#: How long a checked file may wait for its confirmation.
_CONFIRM_MAX_AGE = 24 * 60 * 60


class RecipientListMemberInline(admin.TabularInline):
    model = RecipientListMember
    extra = 0
    autocomplete_fields = ["recipient"]
    readonly_fields = ["added_at"]
    verbose_name = "member"
    verbose_name_plural = "members"

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecipientListMember]:
        return super().get_queryset(request).select_related("recipient")


class CsvUploadForm(forms.Form):
    csv_file = forms.FileField(
        label="CSV file",
        help_text="Columns kind, id, name, then one column per attribute. UTF-8, at most "
        f"{list_import.MAX_BYTES // (1024 * 1024)} MB and {list_import.MAX_ROWS:,} rows.",
    )


@admin.register(RecipientList)
class RecipientListAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "created_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecipientList]:
        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Count("members", distinct=True))
            .select_related("created_by")
        )

    @admin.display(description="members", ordering="member_count")
    def member_count(self, recipient_list: RecipientList) -> int:
        return recipient_list.member_count  # type: ignore[attr-defined]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        """Who made the list, and when, once there is a list to say it of."""
        editable = ("name", "description")
        return (*editable, "created_at", "created_by") if obj is not None else editable

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type[InlineModelAdmin[Any, Any]]]:
        if obj is not None and obj.member_count > MAX_INLINE_MEMBERS:
            return []
        return [RecipientListMemberInline]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        recipient_list = context.get("original")
        if recipient_list is not None and recipient_list.member_count > MAX_INLINE_MEMBERS:
            context["members_url"] = (
                reverse("admin:messaging_recipient_changelist")
                + f"?lists__id__exact={recipient_list.pk}"
            )
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: RecipientList, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<int:object_id>/import/",
                self.admin_site.admin_view(self.import_view),
                name="messaging_recipientlist_import",
            )
        ]
        return extra + super().get_urls()

    # The import page.

    def import_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Step 1 (a file is posted): check it and report. Step 2 (a token): apply it."""
        recipient_list = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, recipient_list):
            raise PermissionDenied
        rights = {
            "may_add": request.user.has_perm("messaging.add_recipient"),
            "may_change": request.user.has_perm("messaging.change_recipient"),
        }
        if request.method == "POST" and "token" in request.POST:
            return self._confirm(request, recipient_list, rights)
        form = CsvUploadForm(request.POST or None, request.FILES or None)
        if request.method != "POST" or not form.is_valid():
            return self._render(request, recipient_list, form=form)
        upload = form.cleaned_data["csv_file"]
        try:
            list_import.check_size(upload.size)
            data = upload.read()
            parsed = list_import.parse(data)
            list_import.plan(
                parsed, list_import.existing_recipients(parsed.rows, recipient_list), **rights
            )
        except ImportRefused as refusal:
            return self._render(request, recipient_list, form=CsvUploadForm(), refusal=refusal)
        token = None
        if not parsed.has_errors:
            stored = files.store(data)
            token = signing.dumps(
                {"sha256": stored.sha256, "list": recipient_list.pk, "user": request.user.pk},
                salt=_SALT,
            )
        return self._render(
            request,
            recipient_list,
            form=CsvUploadForm(),
            parsed=parsed,
            token=token,
            filename=upload.name,
        )

    def _confirm(
        self, request: HttpRequest, recipient_list: RecipientList, rights: dict[str, bool]
    ) -> HttpResponse:
        try:
            claim = signing.loads(request.POST["token"], salt=_SALT, max_age=_CONFIRM_MAX_AGE)
        except signing.BadSignature:
            claim = None
        stored = (
            files.find(claim.get("sha256", ""))
            if isinstance(claim, dict)
            and claim.get("list") == recipient_list.pk
            and claim.get("user") == request.user.pk
            else None
        )
        if stored is None:
            refusal = ImportRefused("This confirmation has expired; upload the file again.")
            return self._render(
                request, recipient_list, form=CsvUploadForm(), refusal=refusal, status=400
            )
        parsed: ParsedFile | None = None
        try:
            parsed = list_import.parse(files.read(stored))
            applied = list_import.apply(parsed, recipient_list, **rights)
        except (ImportRefused, DatabaseError, OSError) as error:
            # Nothing was saved: apply() runs in one transaction, which the error rolled back.
            if not isinstance(error, ImportRefused):
                error = ImportRefused(f"Nothing was imported: {error}")
            return self._render(
                request,
                recipient_list,
                form=CsvUploadForm(),
                parsed=parsed if parsed is not None and parsed.has_errors else None,
                refusal=error,
                status=409,
            )
        summary = (
            f"Imported {applied.rows:,} rows. Recipients created: {applied.created:,}; "
            f"updated: {applied.updated:,}. Added to the list: {applied.added:,}; "
            f"already in it: {applied.already:,}."
        )
        self.log_change(request, recipient_list, [{"changed": {"fields": ["members"]}}])
        self.message_user(request, summary, messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:messaging_recipientlist_change", args=[recipient_list.pk])
        )

    def _render(
        self,
        request: HttpRequest,
        recipient_list: RecipientList,
        *,
        form: CsvUploadForm,
        parsed: ParsedFile | None = None,
        refusal: ImportRefused | None = None,
        token: str | None = None,
        filename: str | None = None,
        status: int = 200,
    ) -> HttpResponse:
        rows: list[Row] = []
        shown = {True: 0, False: 0}  # by "has errors"
        for row in parsed.rows if parsed is not None else []:
            bad = bool(row.errors)
            if shown[bad] < (MAX_REPORT_ERRORS if bad else MAX_REPORT_ROWS):
                rows.append(row)
                shown[bad] += 1
        hidden = (len(parsed.rows) if parsed is not None else 0) - len(rows)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import members of {recipient_list.name}",
            "opts": self.opts,
            "recipient_list": recipient_list,
            "form": form,
            "parsed": parsed,
            "counts": Counts.of(parsed.rows) if parsed is not None else None,
            "rows": rows,
            "hidden_rows": hidden,
            "refusal": refusal,
            "token": token,
            "filename": filename,
            "kinds": list_import.KIND_NAMES,
        }
        return TemplateResponse(
            request, "admin/messaging/recipientlist/import.html", context, status=status
        )
