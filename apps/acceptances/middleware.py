import time

from django.conf import settings

from apps.policies.selectors import policy_current_cached

from .selectors import acceptance_exists
from .services import use_mark

SESSION_KEY = "acceptances.policy"
# When this session last marked a use: until USE_TRACKING_INTERVAL_SECONDS have passed, nothing is asked.
USE_SESSION_KEY = "acceptances.used"
SKIP_PREFIXES = ("/static/", "/api/", "/healthz")


def session_state_set(request, *, number: int, accepted: bool) -> None:
    """Remember in the session whether the user accepted version `number` (and when we checked)."""
    request.session[SESSION_KEY] = {"n": number, "ok": accepted, "t": int(time.time())}


class PolicyAcceptanceMiddleware:
    """Mark the signed-in user's use and decide whether to show the acceptance banner.

    Steady state costs no query and one cache read (the version in force): the user's answer for it and
    the time of the session's last marked use are in the session, which is loaded anyway. The database is
    asked only when a new version was published, when a pending answer is older than
    USE_TRACKING_INTERVAL_SECONDS, or when the session's last use is (then `use_mark` throttles per user
    across sessions with a cache key).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.policy_pending = None
        if (
            settings.SESSION_COOKIE_NAME in request.COOKIES
            and not request.path.startswith(SKIP_PREFIXES)
            and request.user.is_authenticated
        ):
            user = request.user
            now = int(time.time())
            if now - request.session.get(USE_SESSION_KEY, 0) >= settings.USE_TRACKING_INTERVAL_SECONDS:
                use_mark(user_id=user.pk)
                request.session[USE_SESSION_KEY] = now
            current = policy_current_cached()
            if (
                current is not None
                and user.agreement_status == "active"
                and not self._accepted(request, user, current.id, current.number)
            ):
                request.policy_pending = current
        return self.get_response(request)

    @staticmethod
    def _accepted(request, user, version_id: int, number: int) -> bool:
        state = request.session.get(SESSION_KEY) or {}
        if state.get("n") == number:
            if state.get("ok"):
                return True
            if time.time() - state.get("t", 0) < settings.USE_TRACKING_INTERVAL_SECONDS:
                return False
        accepted = acceptance_exists(user_id=user.pk, version_id=version_id)
        session_state_set(request, number=number, accepted=accepted)
        return accepted
