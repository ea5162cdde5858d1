import logging
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited

from apps.core.http import attachment_response, client_ip

from . import selectors, services, tokens
from .access_package import access_package_file
from .details import details_for_display
from .forms import REQUEST_FORMS, AnswerForm, CancelForm, WithdrawalRequestForm
from .models import AccessPackage, RequestType, WithdrawalRequest

logger = logging.getLogger(__name__)

SENT_SESSION_KEY = "withdrawals_sent_email"
SENT_REFERENCE_SESSION_KEY = "withdrawals_sent_reference"
SENT_TYPE_SESSION_KEY = "withdrawals_sent_type"


def _ip_key(group, request) -> str:
    return client_ip(request) or "unknown"


def _email_key(group, request) -> str:
    if request.user.is_authenticated:
        return request.user.email.lower()
    email = (request.POST.get("email") or "").strip().lower()
    return email or f"ip:{_ip_key(group, request)}"


def _rate_per_ip(group, request) -> str:
    return settings.WITHDRAWAL_RATE_PER_IP


def _rate_per_email(group, request) -> str:
    return settings.WITHDRAWAL_RATE_PER_EMAIL


def _namespace(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.namespace if match is not None else "withdrawals"


def _language(request) -> str:
    language = get_language() or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _service_errors(form, error: ValidationError) -> None:
    """Put the service's messages on the form: next to the field a path names, or above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    field_for = getattr(form, "field_for", lambda path: path if path in form.fields else None)
    for path, errors in error.error_dict.items():
        field = field_for(path)
        form.add_error(field if field in form.fields else None, ValidationError(errors).messages)


def _submit(request, form, *, request_type: str):
    """File the form's request through the service; return the response that follows, or None when the
    service refused it (its messages are on the form)."""
    # Per address, only a form that would file a request counts (each sends an email): a person who
    # corrects a mistake, or uses several rights in a row, is not locked out by the attempts themselves.
    if is_ratelimited(
        request,
        group="withdrawals.form.email",
        key=_email_key,
        rate=_rate_per_email,
        method=ALL,
        increment=True,
    ):
        raise Ratelimited()
    user = form.user
    data = form.cleaned_data
    if request_type == RequestType.WITHDRAWAL:
        answers = {
            "scope": data["scope"],
            "purposes": data["purposes"],
            "reason": data["reason"],
            "acknowledgement": data["acknowledgement"],
        }
    else:
        answers = form.answers()
    try:
        withdrawal, created = services.withdrawal_request_submit(
            submission_token=data["submission_token"],
            requester=user,
            full_name=data["full_name"],
            email=data["email"],
            phone=data["phone"],
            language=_language(request),
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            **answers,
        )
    except ValidationError as error:
        _service_errors(form, error)
        return None
    if user is not None and withdrawal.requester_id == user.pk and withdrawal.verified_at:
        if created:
            message = _("Your request %(reference)s is registered.")
        else:
            message = _("You sent this request already; it is registered as %(reference)s.")
        messages.success(request, message % {"reference": withdrawal.reference})
        return redirect(selectors.withdrawal_status_path(withdrawal))
    request.session[SENT_SESSION_KEY] = withdrawal.email
    request.session[SENT_TYPE_SESSION_KEY] = request_type
    # An account that has not confirmed its address has its reference already, to quote. A visitor whose
    # form matched a request already made is shown nothing of it: the page is the same as for a new
    # request, and only the address's holder gets the link again.
    own = user is not None and withdrawal.requester_id == user.pk
    request.session[SENT_REFERENCE_SESSION_KEY] = (withdrawal.reference or "") if own else ""
    return redirect(_sent_name(request_type))


def _sent_name(request_type: str) -> str:
    return "withdrawals:sent" if request_type == RequestType.WITHDRAWAL else "requests:sent"


def _form_context(request_type: str) -> dict:
    return {
        "request_type": request_type,
        "due_preview": selectors.withdrawal_due_preview(request_type=request_type),
        "due_working_days": selectors.term_working_days(request_type),
        "confirm_hours": settings.WITHDRAWAL_CONFIRM_HOURS,
        "delete_days": settings.WITHDRAWAL_UNVERIFIED_DELETE_DAYS,
    }


@never_cache
@ratelimit(group="withdrawals.form.ip", key=_ip_key, rate=_rate_per_ip, method="POST", block=True)
def withdrawal_form(request):
    user = request.user if request.user.is_authenticated else None
    if request.method == "POST":
        form = WithdrawalRequestForm(request.POST, user=user)
        if form.is_trapped:
            logger.info("Withdrawal form bot trap triggered from %s", client_ip(request))
            return redirect("withdrawals:sent")
        if form.is_valid():
            response = _submit(request, form, request_type=RequestType.WITHDRAWAL)
            if response is not None:
                return response
    else:
        form = WithdrawalRequestForm(user=user, initial={"submission_token": uuid.uuid4()})
    return render(request, "withdrawals/form.html", {"form": form, **_form_context(RequestType.WITHDRAWAL)})


def request_start(request):
    """Ask the person what they want to do, in plain words, with each type's term; link to each form."""
    return render(request, "withdrawals/start.html", {"types": selectors.request_types_offered()})


# The same limits as the withdrawal form, and the same buckets: a flood cannot go round them by type.
@never_cache
@ratelimit(group="withdrawals.form.ip", key=_ip_key, rate=_rate_per_ip, method="POST", block=True)
def request_form(request, request_type: str):
    form_class = REQUEST_FORMS.get(request_type)
    if form_class is None:
        raise Http404("No such type of request")
    user = request.user if request.user.is_authenticated else None
    if request.method == "POST":
        form = form_class(request.POST, user=user)
        if form.is_trapped:
            logger.info("Request form bot trap triggered from %s", client_ip(request))
            return redirect(_sent_name(request_type))
        if form.is_valid():
            response = _submit(request, form, request_type=request_type)
            if response is not None:
                return response
    else:
        form = form_class(user=user, initial={"submission_token": uuid.uuid4()})
    return render(
        request,
        "withdrawals/request_form.html",
        {
            "form": form,
            "type_label": RequestType(request_type).label,
            "start_path": reverse("requests:start"),
            **_form_context(request_type),
        },
    )


@never_cache
def withdrawal_sent(request):
    if _namespace(request) == "withdrawals":
        form_path = reverse("withdrawals:form")
    else:
        request_type = request.session.get(SENT_TYPE_SESSION_KEY, "")
        form_path = (
            selectors.request_form_path(request_type)
            if request_type in REQUEST_FORMS
            else reverse("requests:start")
        )
    return render(
        request,
        "withdrawals/sent.html",
        {
            "email": request.session.get(SENT_SESSION_KEY, ""),
            "reference": request.session.get(SENT_REFERENCE_SESSION_KEY, ""),
            "form_path": form_path,
            "confirm_hours": settings.WITHDRAWAL_CONFIRM_HOURS,
            "delete_days": settings.WITHDRAWAL_UNVERIFIED_DELETE_DAYS,
        },
    )


@never_cache
@ratelimit(group="withdrawals.confirm.ip", key=_ip_key, rate=_rate_per_ip, method="POST", block=True)
def withdrawal_confirm(request, token: str):
    """Show a button that confirms the email; a GET changes nothing, so link scanners confirm nothing."""
    problem = None
    withdrawal = None
    try:
        withdrawal = selectors.withdrawal_request_by_public_id(tokens.confirm_token_read(token))
        if withdrawal is None:
            problem = "invalid"
    except tokens.LinkExpired:
        problem = "expired"
    except tokens.LinkInvalid:
        problem = "invalid"
    if withdrawal is not None and withdrawal.status != WithdrawalRequest.Status.UNVERIFIED:
        return redirect(selectors.withdrawal_status_path(withdrawal))
    if problem is None and request.method == "POST":
        try:
            withdrawal = services.withdrawal_request_confirm(token=token, ip=client_ip(request))
        except services.ConfirmationExpired:
            problem = "expired"
        except services.ConfirmationFailed:
            problem = "invalid"
        else:
            messages.success(
                request,
                _("Thank you. Your request %(reference)s is registered.")
                % {"reference": withdrawal.reference},
            )
            return redirect(selectors.withdrawal_status_path(withdrawal))
    status = {"expired": 410, "invalid": 404}.get(problem, 200)
    if withdrawal is not None:
        form_path = selectors.request_form_path(withdrawal.request_type)
    elif _namespace(request) == "withdrawals":
        form_path = reverse("withdrawals:form")
    else:
        form_path = reverse("requests:start")
    return render(
        request,
        "withdrawals/confirm.html",
        {
            "problem": problem,
            "withdrawal": withdrawal,
            "details": _details(withdrawal) if withdrawal is not None else {},
            "form_path": form_path,
            "confirm_hours": settings.WITHDRAWAL_CONFIRM_HOURS,
        },
        status=status,
    )


def _withdrawal_or_404(token: str) -> WithdrawalRequest:
    withdrawal = selectors.withdrawal_request_by_status_token(token)
    if withdrawal is None:
        raise Http404("No such request")
    return withdrawal


def _details(withdrawal: WithdrawalRequest) -> dict:
    return details_for_display(withdrawal.request_type, withdrawal.details)


def _status_context(withdrawal: WithdrawalRequest, token: str, **extra) -> dict:
    return {
        "withdrawal": withdrawal,
        "token": token,
        "paths": selectors.withdrawal_request_paths(withdrawal, token),
        "details": _details(withdrawal),
        "timeline": selectors.withdrawal_timeline_for_requester(withdrawal),
        "last_day": selectors.withdrawal_last_day(withdrawal),
        "due_state": selectors.withdrawal_due_state(withdrawal),
        "due_working_days": selectors.term_working_days(withdrawal.request_type),
        **extra,
    }


def _to_status(withdrawal: WithdrawalRequest, token: str):
    return redirect(selectors.withdrawal_request_paths(withdrawal, token)["status"])


@never_cache
def withdrawal_status(request, token: str):
    withdrawal = _withdrawal_or_404(token)
    answer_form = AnswerForm() if withdrawal.status == WithdrawalRequest.Status.AWAITING_INFORMATION else None
    return render(
        request,
        "withdrawals/status.html",
        _status_context(withdrawal, token, answer_form=answer_form, **_package_context(request, withdrawal)),
    )


def _actor(request):
    return request.user if request.user.is_authenticated else None


@never_cache
@require_POST
@ratelimit(group="withdrawals.status.ip", key=_ip_key, rate=_rate_per_ip, method="POST", block=True)
def withdrawal_answer(request, token: str):
    withdrawal = _withdrawal_or_404(token)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.withdrawal_request_information_provide(
                withdrawal=withdrawal,
                answer=form.cleaned_data["answer"],
                ip=client_ip(request),
                actor=_actor(request),
            )
        except services.TransitionNotAllowed as error:
            messages.error(request, error.message)
        except ValidationError as error:
            form.add_error("answer", error)
        else:
            messages.success(request, _("Thank you. We have your answer and continue with your request."))
            return _to_status(withdrawal, token)
        if not form.errors:
            return _to_status(withdrawal, token)
    return render(
        request, "withdrawals/status.html", _status_context(withdrawal, token, answer_form=form), status=400
    )


@never_cache
@ratelimit(group="withdrawals.status.ip", key=_ip_key, rate=_rate_per_ip, method="POST", block=True)
def withdrawal_cancel(request, token: str):
    withdrawal = _withdrawal_or_404(token)
    if not withdrawal.is_open:
        messages.error(
            request, _("This request has been decided or cancelled already; it cannot be cancelled.")
        )
        return _to_status(withdrawal, token)
    form = CancelForm(
        request.POST if request.method == "POST" else None, request_type=withdrawal.request_type
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.withdrawal_request_cancel(
                withdrawal=withdrawal, ip=client_ip(request), actor=_actor(request)
            )
        except services.TransitionNotAllowed as error:
            messages.error(request, error.message)
        else:
            if withdrawal.request_type == RequestType.WITHDRAWAL:
                done = _("Your request is cancelled. Your consent stays as it was.")
            else:
                done = _("Your request is cancelled. Nothing has changed.")
            messages.success(request, done)
        return _to_status(withdrawal, token)
    return render(
        request,
        "withdrawals/cancel.html",
        {
            "withdrawal": withdrawal,
            "token": token,
            "paths": selectors.withdrawal_request_paths(withdrawal, token),
            "form": form,
        },
        status=400 if form.errors else 200,
    )


# --- the access package: downloaded after the person confirms their address again ------------------

PACKAGE_SESSION_KEY = "withdrawals_package_downloads"


def _rate_package_link(group, request) -> str:
    return settings.ACCESS_PACKAGE_LINK_RATE


def _status_token_key(group, request) -> str:
    """One request (its private link), whoever asks for it."""
    return request.resolver_match.kwargs.get("token", "") if request.resolver_match else ""


def package_problem_message(reason: str) -> str:
    """Return what the person is told when the package cannot be sent or opened (PackageUnavailable)."""
    messages_by_reason = {
        "not_ready": lambda: _("Your data package is not ready yet. We will email you when it is."),
        "expired": lambda: _(
            "The download period of this data package is over. To get your data again, file a new request."
        ),
        "erased": lambda: _("This data package was erased. To get your data again, file a new request."),
        "no_email": lambda: (
            _(
                "This request has no email address to send a download link to. Write to %(mailbox)s to "
                "receive your data."
            )
            % {"mailbox": settings.PRIVACY_MAILBOX}
        ),
        "invalid": lambda: _(
            "This link does not work. Copy the whole link from the email, or ask for a new one on your "
            "request's page."
        ),
        "link_expired": lambda: _(
            "This link has expired. Ask for a new one on your request's page: press Download again."
        ),
        "used": lambda: _(
            "This link was used already: each link works once. Ask for a new one on your request's page: "
            "press Download again."
        ),
    }
    return messages_by_reason.get(reason, messages_by_reason["invalid"])()


def _package_window(request, package: AccessPackage | None) -> dict | None:
    """Return the downloads this browser opened for the package with a one-time link, while they are open:
    {"until": datetime, "link": link id}; None otherwise."""
    if package is None:
        return None
    windows = _package_windows(request)
    entry = windows.get(str(package.pk))
    if entry is None:
        return None
    return {"until": datetime.fromtimestamp(entry["until"], tz=UTC), "link": entry["link"]}


def _package_windows(request) -> dict[str, dict]:
    """Return the downloads open in this browser, by package id: {"until": unix time, "link": link id}."""
    stored = request.session.get(PACKAGE_SESSION_KEY)
    now = timezone.now().timestamp()
    return {
        key: value
        for key, value in (stored.items() if isinstance(stored, dict) else [])
        if isinstance(value, dict)
        and isinstance(value.get("until"), (int, float))
        and now < value["until"] <= now + 86400
        and isinstance(value.get("link"), str)
    }


def _package_window_open(request, link) -> None:
    until = timezone.now() + timedelta(minutes=settings.ACCESS_PACKAGE_SESSION_MINUTES)
    windows = _package_windows(request)
    windows[str(link.package_id)] = {"until": until.timestamp(), "link": str(link.pk)}
    request.session[PACKAGE_SESSION_KEY] = windows


def _package_context(request, withdrawal: WithdrawalRequest) -> dict:
    if withdrawal.request_type != RequestType.ACCESS:
        return {}
    state = selectors.access_package_state(withdrawal)
    return {
        "package_state": state,
        "package_window": _package_window(request, state.package) if state.downloadable else None,
        "package_link_minutes": settings.ACCESS_PACKAGE_LINK_MINUTES,
    }


def _package_section(token: str) -> str:
    # Only an access request has a package; its pages live under /privacy/requests/.
    return reverse("requests:status", args=[token]) + "#package"


@never_cache
@require_POST
@ratelimit(group="withdrawals.package.ip", key=_ip_key, rate=_rate_per_ip, method="POST", block=True)
@ratelimit(
    group="withdrawals.package.request",
    key=_status_token_key,
    rate=_rate_package_link,
    method="POST",
    block=True,
)
def access_package_link_send(request, token: str):
    """Email a one-time download link to the request's address."""
    withdrawal = _withdrawal_or_404(token)
    try:
        services.access_package_link_send(withdrawal=withdrawal, ip=client_ip(request), actor=_actor(request))
    except services.PackageUnavailable as error:
        messages.error(request, package_problem_message(error.reason))
    else:
        messages.success(
            request,
            _(
                "We sent a download link to %(email)s. Open it within %(minutes)s minutes; it works once. "
                "It can take a few minutes to arrive."
            )
            % {"email": withdrawal.email, "minutes": settings.ACCESS_PACKAGE_LINK_MINUTES},
        )
    return redirect(_package_section(token))


@never_cache
@ratelimit(group="withdrawals.package.ip", key=_ip_key, rate=_rate_per_ip, method="POST", block=True)
def access_package_link(request, token: str):
    """Show a button that opens the downloads in this browser; a GET spends nothing, so a mail scanner that
    follows the link does not use it up."""
    problem = None
    link = None
    try:
        link = services.access_package_link_check(token=token)
    except services.PackageUnavailable as error:
        problem, link = error.reason, error.link
    if problem == "used" and _package_window(request, link.package):
        # Opened already in this browser (a second click, the back button): the downloads are open.
        return redirect(_package_section(tokens.status_token_make(link.package.request.public_id)))
    if problem is None and request.method == "POST":
        try:
            link = services.access_package_link_use(token=token, ip=client_ip(request), actor=_actor(request))
        except services.PackageUnavailable as error:
            problem = error.reason
        else:
            _package_window_open(request, link)
            messages.success(
                request,
                _("Thank you: your address is confirmed. Your downloads are open for %(minutes)s minutes.")
                % {"minutes": settings.ACCESS_PACKAGE_SESSION_MINUTES},
            )
            return redirect(_package_section(tokens.status_token_make(link.package.request.public_id)))
    withdrawal = link.package.request if link is not None else None
    status = 200 if problem is None else 404 if problem == "invalid" else 410
    return render(
        request,
        "withdrawals/package_link.html",
        {
            "problem": problem,
            "problem_message": package_problem_message(problem) if problem else "",
            "withdrawal": withdrawal,
            "package": link.package if link is not None else None,
            "status_path": selectors.withdrawal_status_path(withdrawal) if withdrawal is not None else "",
            "session_minutes": settings.ACCESS_PACKAGE_SESSION_MINUTES,
        },
        status=status,
    )


@never_cache
@require_GET
def access_package_download(request, token: str, file_format: str):
    """Send the package, in one format, to a browser that opened the downloads with a one-time link."""
    if file_format not in services.PACKAGE_FORMATS:
        raise Http404("No such format")
    withdrawal = _withdrawal_or_404(token)
    package = AccessPackage.objects.filter(request=withdrawal).defer("document", "html").first()
    window = _package_window(request, package)
    if window is None:
        messages.error(
            request,
            _("To download your data, press Download and open the link we email you, in this browser."),
        )
        return redirect(_package_section(token))
    try:
        package = services.access_package_download_record(
            package=package,
            file_format=file_format,
            link_id=window["link"],
            ip=client_ip(request),
            actor=_actor(request),
        )
    except services.PackageUnavailable as error:
        messages.error(request, package_problem_message(error.reason))
        return redirect(_package_section(token))
    data, content_type, file_name = access_package_file(package, file_format)
    return attachment_response(data, content_type=content_type, file_name=file_name)
