"""Upload screens: ONIX 3.0 messages and royalty / sales line files."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts import policy
from accounts.models import Imprint
from accounts.types import AuthedRequest
from integration.catalogue.onix_import import onix_import
from integration.catalogue.royalty_import import error_report_csv, royalty_import
from integration.catalogue.selectors import sync_run_list
from integration.lib.uploads import IMPORT_MAX_BYTES, validate_upload
from integration.models import RoyaltyImport, SyncRun


def _importer_imprints(request: AuthedRequest):  # type: ignore[no-untyped-def]
    imprints = policy.imprints_for(request.user, policy.Action.IMPORT)
    if not imprints.exists():
        raise PermissionDenied("Imports need the imprint admin, royalties or marketing role.")
    return imprints


class OnixUploadForm(forms.Form):
    file = forms.FileField(help_text="ONIX 3.0 reference-tag XML.")
    imprint = forms.ModelChoiceField(
        queryset=Imprint.objects.none(),
        required=False,
        help_text="Imprint for every record. Superusers may leave it empty to use each "
        "record's <ImprintName>.",
    )

    def __init__(self, *args: object, user: object, imprints: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["imprint"].queryset = imprints  # type: ignore[attr-defined]
        self.user = user
        if not getattr(user, "is_superuser", False):
            self.fields["imprint"].required = True

    def clean_file(self):  # type: ignore[no-untyped-def]
        return validate_upload(
            self.cleaned_data["file"],
            max_bytes=IMPORT_MAX_BYTES,
            extensions=(),
        )


class RoyaltyUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV (UTF-8) or XLSX; see the format below.")
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none())

    def __init__(self, *args: object, imprints: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["imprint"].queryset = imprints  # type: ignore[attr-defined]

    def clean_file(self):  # type: ignore[no-untyped-def]
        return validate_upload(
            self.cleaned_data["file"], max_bytes=IMPORT_MAX_BYTES, extensions=(".csv", ".xlsx")
        )


@login_required
def onix_upload(request: AuthedRequest) -> HttpResponse:
    imprints = _importer_imprints(request)
    form = OnixUploadForm(
        request.POST or None, request.FILES or None, user=request.user, imprints=imprints
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        run = onix_import(
            stream=upload,
            filename=upload.name,
            actor=request.user,
            imprint=form.cleaned_data["imprint"],
        )
        if run.status == SyncRun.Status.SUCCEEDED:
            messages.success(request, run.message)
            return redirect("imports:onix")
        form.add_error("file", run.message)
    runs = sync_run_list(request.user).filter(kind=SyncRun.Kind.ONIX)[:10]
    return render(request, "imports/onix.html", {"form": form, "runs": runs})


@login_required
def royalty_upload(request: AuthedRequest) -> HttpResponse:
    imprints = _importer_imprints(request)
    form = RoyaltyUploadForm(request.POST or None, request.FILES or None, imprints=imprints)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        record = royalty_import(
            stream=upload,
            filename=upload.name,
            imprint=form.cleaned_data["imprint"],
            actor=request.user,
        )
        if record.imported:
            messages.success(request, f"{record.filename}: {record.line_count} lines imported.")
        else:
            messages.error(
                request,
                f"{record.filename}: nothing was imported ({len(record.errors)} problems). "
                "Download the error report below.",
            )
        return redirect("imports:royalties")
    imports = RoyaltyImport.objects.filter(imprint__in=imprints).select_related("imprint")[:20]
    return render(request, "imports/royalties.html", {"form": form, "imports": imports})


@login_required
def royalty_errors(request: AuthedRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(
        policy.for_user(request.user, RoyaltyImport.objects.all(), policy.Action.IMPORT), pk=pk
    )
    response = HttpResponse(error_report_csv(record), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="royalty-import-{record.pk}-errors.csv"'
    )
    return response
