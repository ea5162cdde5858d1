import itertools
import uuid

import factory
from django.utils import timezone

from apps.calendars import working_days
from apps.withdrawals import selectors, services
from apps.withdrawals.models import ThirdParty, TimelineEntry, WithdrawalRequest


class ThirdPartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ThirdParty

    name = factory.Sequence(lambda n: f"Partner {n}")
    contact_email = factory.Sequence(lambda n: f"privacy{n}@partner.kz")
    language = "kk"
    active = True


# Each request the factory files is a different one: the same words from the same address within two days
# would be taken for the same form sent again.
_number = itertools.count(1)


# What each type asks for, as a person would fill in its form (apps/withdrawals/details.py).
TYPE_ANSWERS = {
    "access": {"details": {"question": "Who received my data?"}},
    "correction": {
        "details": {
            "corrections": [
                {"field": "full_name", "current": "Aigerim Nurlanova", "correct": "Aigerim Nurlanovna"},
                {"field": "phone", "current": "", "correct": "+7 701 765 4321"},
            ]
        }
    },
    "blocking": {"details": {"grounds": "inaccurate"}},
    "destruction": {"details": {"grounds": "not_needed"}, "acknowledgement": True},
    "objection": {"details": {"decision": "My order was refused automatically."}},
}


def submit(
    *,
    requester=None,
    email="visitor@example.kz",
    scope=None,
    purposes=None,
    language="en",
    request_type="withdrawal",
    **extra,
):
    """File a request of `request_type` through the service, as its form does; return it. A type other
    than a withdrawal gets the answers of TYPE_ANSWERS unless `extra` gives its own."""
    data = {
        "submission_token": uuid.uuid4(),
        "requester": requester,
        "full_name": "Aigerim Nurlanovna",
        "email": email,
        "phone": "+77011234567",
        "reason": f"I no longer use the services. ({next(_number)})",
        "language": language,
        "ip": "203.0.113.5",
        "user_agent": "pytest",
        "request_type": request_type,
    }
    if request_type == "withdrawal":
        scope = scope or "all"
        data.update(scope=scope, purposes=list(purposes or ()), acknowledgement=scope == "all")
    else:
        data.update(TYPE_ANSWERS.get(request_type, {}))
        # Given for another type only to see it refused.
        data.update({key: value for key, value in (("scope", scope), ("purposes", purposes)) if value})
    data.update(extra)
    withdrawal, _created = services.withdrawal_request_submit(**data)
    return withdrawal


def verified(**kwargs) -> WithdrawalRequest:
    """Return a registered (verified) request from a visitor."""
    from apps.withdrawals.tokens import confirm_token_make

    withdrawal = submit(**kwargs)
    return services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))


def in_review(*, staff, **kwargs) -> WithdrawalRequest:
    withdrawal = verified(**kwargs)
    return services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)


class RequestFactory(factory.django.DjangoModelFactory):
    """A registered request of a type other than withdrawal (correction, blocking, destruction, objection),
    as the public forms and the API store it: confirmed, with its reference in its type's series and its
    term; `details` as the type's form writes them. Pass `requester=` for one filed from an account."""

    class Meta:
        model = WithdrawalRequest
        skip_postgeneration_save = True

    submission_token = factory.LazyFunction(uuid.uuid4)
    request_type = "correction"
    channel = "web"
    full_name = "Aigerim Nurlanovna"
    email = factory.LazyAttribute(lambda o: o.requester.email if o.requester else "visitor@example.kz")
    requester = None
    requester_email_verified = True
    phone = "+77011234567"
    reason = factory.Sequence(lambda n: f"Please act on my data. ({n})")
    details = factory.LazyFunction(dict)
    language = "en"
    ip = "203.0.113.5"
    user_agent = "pytest"
    status = WithdrawalRequest.Status.SUBMITTED
    received_at = factory.LazyFunction(timezone.now)
    verified_at = factory.LazyFunction(timezone.now)
    reference = factory.LazyAttribute(
        lambda o: services._reference_take(
            request_type=o.request_type, year=working_days.local_date(timezone.now()).year
        )
    )
    due_at = factory.LazyAttribute(
        lambda o: working_days.due_at_after(o.received_at, selectors.term_working_days(o.request_type))
    )

    @factory.post_generation
    def timeline(obj, create, extracted, **kwargs):
        if create:
            TimelineEntry.objects.bulk_create(
                [
                    TimelineEntry(request=obj, kind=kind, visible_to_requester=True, actor=obj.requester)
                    for kind in (TimelineEntry.Kind.SUBMITTED, TimelineEntry.Kind.VERIFIED)
                ]
            )


def typed_in_review(*, staff, **kwargs) -> WithdrawalRequest:
    """A request of another type (RequestFactory's arguments), taken into review by `staff`."""
    return services.withdrawal_request_review_start(withdrawal=RequestFactory(**kwargs), actor=staff)


def access_request(*, requester=None, email="visitor@example.kz", language="en", confirm=True, **extra):
    """Store an access request as the web form leaves it (unconfirmed), then confirm it from the emailed link
    (which registers it: the export calls start); return it."""
    from apps.withdrawals.models import RequestType, TimelineEntry
    from apps.withdrawals.tokens import confirm_token_make

    withdrawal = WithdrawalRequest.objects.create(
        submission_token=uuid.uuid4(),
        request_type=RequestType.ACCESS,
        requester=requester,
        full_name=extra.pop("full_name", "Aigerim Nurlanovna"),
        email=email,
        phone=extra.pop("phone", "+77011234567"),
        language=language,
        ip=extra.pop("ip", "203.0.113.5"),
        user_agent=extra.pop("user_agent", "pytest"),
        **extra,
    )
    TimelineEntry.objects.create(request=withdrawal, kind="submitted", visible_to_requester=True)
    if not confirm:
        return withdrawal
    return services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
