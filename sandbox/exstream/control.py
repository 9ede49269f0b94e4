"""The sandbox Exstream control page: flip fault switches, advance jobs, seed the catalogue."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts import policy
from accounts.types import AuthedRequest
from integration.lib.http import ExternalServiceError
from sandbox.exstream.catalogue import seed_exstream_sandbox
from sandbox.exstream.push import push_email_events
from sandbox.exstream.runtime import advance_job
from sandbox.models import ExstreamSandboxJob, ExstreamSandboxSwitches, ExstreamSandboxToken


class SwitchesForm(forms.ModelForm):
    class Meta:
        model = ExstreamSandboxSwitches
        fields = [
            "fail_next_5xx",
            "rate_limit_next",
            "retry_after_seconds",
            "latency_ms",
            "token_ttl_seconds",
            "expired_token_as_500",
            "duplicate_events",
            "out_of_order_events",
            "clock_offset_seconds",
        ]


def _require_admin(request: AuthedRequest) -> None:
    if not (
        request.user.is_superuser or policy.imprint_ids_for(request.user, policy.Action.CONFIGURE)
    ):
        raise PermissionDenied("The sandbox control page is for imprint admins.")


@login_required
def control(request: AuthedRequest) -> HttpResponse:
    _require_admin(request)
    switches = ExstreamSandboxSwitches.current()
    form = SwitchesForm(instance=switches)
    if request.method == "POST":
        action = request.POST.get("action", "switches")
        with transaction.atomic():
            if action == "switches":
                form = SwitchesForm(request.POST, instance=switches)
                if form.is_valid():
                    form.save()
                    messages.success(request, "Fault switches saved.")
                    return redirect("sandbox_exstream:control")
            elif action == "advance":
                job = ExstreamSandboxJob.objects.filter(job_id=request.POST.get("job_id")).first()
                if job is None:
                    messages.error(request, "No such sandbox job.")
                else:
                    advance_job(job)
                    messages.success(request, f"Job {job.job_id} advanced to stage {job.stage}.")
                return redirect("sandbox_exstream:control")
            elif action == "expire_tokens":
                count = ExstreamSandboxToken.objects.update(expires_at=switches.now())
                messages.success(request, f"{count} token(s) expired.")
                return redirect("sandbox_exstream:control")
            elif action == "push":
                try:
                    sent = push_email_events()
                except (ExternalServiceError, ValueError) as exc:
                    messages.error(request, f"Pushing events failed: {exc}")
                else:
                    messages.success(request, f"Pushed {sent} signed e-mail event(s).")
                return redirect("sandbox_exstream:control")
            elif action == "seed":
                count = seed_exstream_sandbox()
                messages.success(request, f"Seeded {count} communications.")
                return redirect("sandbox_exstream:control")
    # Sandbox jobs carry no imprint, and their records hold every imprint's recipients: the
    # list is for superusers only.
    jobs = ExstreamSandboxJob.objects.all()[:50] if request.user.is_superuser else None
    context = {"form": form, "jobs": jobs}
    return render(request, "sandbox/exstream_control.html", context)
