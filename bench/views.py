"""Bare views for the baselines: a template of a given size, and the withdrawal form's rows written with
plain ORM calls."""

import os

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import F
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import get_language

from apps.audit.models import AuditEvent
from apps.calendars import working_days
from apps.core.http import client_ip
from apps.notifications.models import OutboxEmail
from apps.notifications.tasks import outbox_deliver_batch
from apps.withdrawals import emails
from apps.withdrawals.forms import WithdrawalRequestForm
from apps.withdrawals.models import Purpose, ReferenceCounter, TimelineEntry, WithdrawalRequest
from bench.common import POLICY_FILE


def _body(size: int) -> str:
    text = POLICY_FILE.read_text(encoding="utf-8")
    while len(text.encode("utf-8")) < size:
        text += text
    return text.encode("utf-8")[:size].decode("utf-8", errors="ignore")


# Bytes of text in the page (the scenario sets it so the whole page is as large as the policy page),
# escaped once, as static content written into a template would be.
BODY = escape(_body(int(os.environ.get("BENCH_PAGE_BYTES", "60000"))))


def bare_page(request):
    """The site's page template around BODY: as large as the policy page, with none of its work."""
    return render(request, "bench/bare_page.html", {"body": BODY})


@login_required
def bare_withdraw(request):
    """Validate the withdrawal form and write the rows a signed-in submission writes, with plain ORM calls in
    one transaction: the registered request, its two timeline entries, its two audit events and its two
    emails, whose delivery is queued after commit.

    The emails are the product's own (`apps.withdrawals.emails.registration`), so both paths write the same
    content; what the baseline leaves out is the service around it (model validation, the resubmission
    check, the outbox's de-duplication, the confirmation message).
    """
    user = request.user
    form = WithdrawalRequestForm(request.POST or None, user=user)
    if request.method != "POST" or not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400)
    data = form.cleaned_data
    scope = data["scope"]
    chosen = set(data["purposes"])
    purposes = [] if scope == WithdrawalRequest.Scope.ALL else [v for v in Purpose.values if v in chosen]
    language = get_language() if get_language() in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    ip = client_ip(request) or None
    now = timezone.now()
    year = working_days.local_date(now).year
    with transaction.atomic():
        ReferenceCounter.objects.get_or_create(series="WR", year=year)
        ReferenceCounter.objects.filter(series="WR", year=year).update(last=F("last") + 1)
        number = ReferenceCounter.objects.values_list("last", flat=True).get(series="WR", year=year)
        withdrawal = WithdrawalRequest.objects.create(
            submission_token=data["submission_token"],
            requester=user,
            requester_email_verified=user.email_verified_at is not None,
            full_name=" ".join(data["full_name"].split()),
            email=user.email.strip().lower(),
            phone=data["phone"] or "",
            scope=scope,
            purposes=purposes,
            reason="\n".join(line.rstrip() for line in data["reason"].strip().splitlines()),
            acknowledgement=data["acknowledgement"],
            language=language,
            ip=ip,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            reference=f"WR-{year}-{number:06d}",
            verified_at=now,
            due_at=working_days.due_at_after(now, settings.WITHDRAWAL_DUE_WORKING_DAYS),
            status=WithdrawalRequest.Status.SUBMITTED,
        )
        TimelineEntry.objects.bulk_create(
            TimelineEntry(request=withdrawal, kind=kind, visible_to_requester=True, actor=user)
            for kind in (TimelineEntry.Kind.SUBMITTED, TimelineEntry.Kind.VERIFIED)
        )
        target = {
            "target_type": WithdrawalRequest._meta.label_lower,
            "target_id": str(withdrawal.pk),
            "target_label": withdrawal.reference,
        }
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    actor=user,
                    action="withdrawal.submit",
                    details={
                        "status": WithdrawalRequest.Status.UNVERIFIED,
                        "request_type": "withdrawal",
                        "scope": scope,
                        "purposes": purposes,
                    },
                    ip=ip,
                    **target,
                ),
                AuditEvent(
                    actor=user,
                    action="withdrawal.verify",
                    details={
                        "status": withdrawal.status,
                        "due_at": withdrawal.due_at.isoformat(),
                        "requester_email_verified": withdrawal.requester_email_verified,
                    },
                    ip=ip,
                    **target,
                ),
            ]
        )
        ids = [email.pk for email in OutboxEmail.objects.bulk_create(emails.registration(withdrawal))]
        transaction.on_commit(lambda: outbox_deliver_batch.delay(ids))
    return HttpResponseRedirect("/privacy/withdraw/sent/")
