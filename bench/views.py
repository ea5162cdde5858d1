"""Bare views for the baselines: a template of a given size, and a form that inserts one row."""

import os
import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.html import escape

from apps.withdrawals.forms import WithdrawalRequestForm
from apps.withdrawals.models import WithdrawalRequest
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
    """Validate the withdrawal form and insert one row: no service, no timeline, audit or email."""
    form = WithdrawalRequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        WithdrawalRequest.objects.create(
            submission_token=data["submission_token"] or uuid.uuid4(),
            requester=request.user,
            full_name=data["full_name"],
            email=request.user.email,
            phone=data["phone"] or "",
            scope=data["scope"],
            purposes=data["purposes"],
            reason=data["reason"],
            acknowledgement=data["acknowledgement"],
            language="kk",
        )
        return HttpResponseRedirect("/privacy/withdraw/sent/")
    return HttpResponse(form.errors.as_text(), status=400)
