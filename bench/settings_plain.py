"""The bench settings without the acceptance check and use tracking: the signed-in page view's baseline."""

from bench.settings import *  # noqa: F403

MIDDLEWARE = [m for m in MIDDLEWARE if m != "apps.acceptances.middleware.PolicyAcceptanceMiddleware"]  # noqa: F405
