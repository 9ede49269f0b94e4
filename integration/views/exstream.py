"""Staff screens for Exstream: the communications catalogue (sync, try a preview), stored
preview outputs, and batch jobs (release held steps, stop, reprocess)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.api import contains_nul
from accounts.models import Imprint
from accounts.policy import Action
from accounts.types import AuthedRequest
from integration.delivery.job_controls import (
    exstream_job_reprocess,
    exstream_job_stop,
    exstream_step_release,
)
from integration.delivery.preview import preview_generate
from integration.lib.http import ExternalServiceError
from integration.models import ExstreamCommunication
from integration.selectors.exstream import (
    exstream_communications,
    exstream_jobs_for,
    preview_outputs_for,
)
from integration.setup.designs import exstream_catalogue_sync
from integration.status.polling import exstream_job_poll

# Sandboxed HTML previews: nothing runs, nothing loads from elsewhere.
PREVIEW_HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _require_any(request: AuthedRequest, action: Action) -> None:
    if not (request.user.is_superuser or policy.imprint_ids_for(request.user, action)):
        raise PermissionDenied(f"You need the {action.value} permission in an imprint.")


class PreviewForm(forms.Form):
    communication = forms.ModelChoiceField(queryset=ExstreamCommunication.objects.none())
    imprint = forms.ModelChoiceField(queryset=Imprint.objects.none())
    driver_json = forms.CharField(
        label="Driver data (JSON)",
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="A JSON object with the communication's driver fields.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["communication"].queryset = exstream_communications()  # type: ignore[attr-defined]
        self.fields["imprint"].queryset = policy.imprints_for(user, Action.CONFIGURE)  # type: ignore[attr-defined]

    def clean_driver_json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["driver_json"])
        except ValueError as exc:
            raise forms.ValidationError(
                "The driver data cannot be read: write one object in braces, "
                'e.g. {"recipientName": "Jane Doe"}.'
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("The driver data must be a JSON object ({...}).")
        if contains_nul(value):
            raise forms.ValidationError("The driver data contains a NUL character (\\u0000).")
        return value


def sample_driver(comm: ExstreamCommunication) -> str:
    """Sample values for every driver field, so the form starts from something that works."""
    samples = {"date": "2026-12-01", "decimal": "125.00"}
    data = {
        f["name"]: samples.get(f.get("type", ""), f"Sample {f['name']}") for f in comm.driver_fields
    }
    if "customerKey" in data:
        data["customerKey"] = "preview-sample"
    if "recipientEmail" in data:
        data["recipientEmail"] = "reader@example.test"
    return json.dumps(data, indent=2)


@login_required
def communications(request: AuthedRequest) -> HttpResponse:
    _require_any(request, Action.VIEW)
    user = request.user
    can_preview = user.is_superuser or bool(policy.imprint_ids_for(user, Action.CONFIGURE))
    can_sync = user.is_superuser or bool(policy.imprint_ids_for(user, Action.SYNC))
    form = None
    outputs = []
    if can_preview:
        if request.method == "POST":
            form = PreviewForm(request.POST, user=user)
            if form.is_valid():
                try:
                    outputs = preview_generate(
                        actor=user,
                        exstream_communication=form.cleaned_data["communication"],
                        driver_data=form.cleaned_data["driver_json"],
                        imprint=form.cleaned_data["imprint"],
                        customer_key="preview",
                    )
                except ExternalServiceError as exc:
                    form.add_error(None, exc.message)
        else:
            first = exstream_communications().first()
            form = PreviewForm(
                user=user,
                initial={
                    "driver_json": sample_driver(first) if first else "{}",
                    "communication": first,
                    "imprint": request.imprint,
                },
            )
    elif request.method == "POST":
        raise PermissionDenied("Trying previews here is for imprint admins.")
    context = {
        "communications": exstream_communications(),
        "inactive": exstream_communications(include_inactive=True).filter(active=False),
        "can_sync": can_sync,
        "form": form,
        "outputs": outputs,
    }
    return render(request, "exstream/communications.html", context)


@login_required
@require_POST
def sync(request: AuthedRequest) -> HttpResponse:
    _require_any(request, Action.SYNC)
    try:
        result = exstream_catalogue_sync(actor=request.user)
    except ExternalServiceError as exc:
        messages.error(request, f"The Exstream sync failed: {exc.message}")
    else:
        messages.success(request, f"Exstream catalogue synced: {result}.")
    return redirect("exstream:communications")


@login_required
def preview_output(request: AuthedRequest, pk: int) -> HttpResponse:
    output = get_object_or_404(preview_outputs_for(request.user), pk=pk)
    text = ""
    if output.kind == "text":
        with output.content.open("rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
    return render(request, "exstream/preview_output.html", {"output": output, "text": text})


@login_required
@xframe_options_sameorigin
def preview_output_raw(request: AuthedRequest, pk: int) -> HttpResponse:
    output = get_object_or_404(preview_outputs_for(request.user), pk=pk)
    with output.content.open("rb") as fh:
        data = fh.read()
    content_type = output.mime_type
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    # Whatever Exstream produced (HTML, SVG, text …) runs sandboxed with no scripts; only PDF is
    # left to the browser's viewer, which a CSP sandbox would stop from rendering.
    if output.mime_type != "application/pdf":
        response["Content-Security-Policy"] = PREVIEW_HTML_CSP
    return response


@login_required
def jobs(request: AuthedRequest) -> HttpResponse:
    _require_any(request, Action.VIEW)
    user = request.user
    rows = []
    for job in exstream_jobs_for(user)[:100]:
        rows.append(
            {
                "job": job,
                "can_release": policy.can(user, Action.APPROVE, job),
                "can_operate": policy.can(user, Action.OPERATE, job),
            }
        )
    return render(request, "exstream/jobs.html", {"rows": rows})


@login_required
@require_POST
def job_action(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    job = exstream_jobs_for(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such Exstream job.")
    needed = {
        "release": Action.APPROVE,
        "stop": Action.OPERATE,
        "reprocess": Action.OPERATE,
        "poll": Action.OPERATE,
    }.get(action)
    if needed is None:
        raise Http404("Unknown job action.")
    policy.require(request.user, needed, job)
    try:
        if action == "release":
            message = exstream_step_release(
                actor=request.user, job=job, step_id=request.POST.get("step_id", "")
            )
        elif action == "stop":
            message = exstream_job_stop(actor=request.user, job=job)
        elif action == "reprocess":
            message = exstream_job_reprocess(actor=request.user, job=job)
        else:
            events = exstream_job_poll(job_pk=job.pk)
            message = f"Polled; {len(events)} recipient outcome(s)."
    except (ExternalServiceError, ValueError) as exc:
        messages.error(request, str(getattr(exc, "message", exc)))
    else:
        messages.success(request, message or "Done.")
    return redirect("exstream:jobs")
