"""Tests: real PostgreSQL and Redis, in-memory mail unless a test points elsewhere."""

from .base import *  # noqa: F403
from .base import env

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/alilo")}
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="alilo-test"),
        "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 2},
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
CELERY_REDBEAT_REDIS_URL = CELERY_BROKER_URL
EMAIL_BACKEND = env("EMAIL_BACKEND", default="anymail.backends.test.EmailBackend")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SITE_URL = env("SITE_URL", default="http://testserver")
ALLOWED_HOSTS = ["*"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = env("LOG_LEVEL", default="WARNING")  # noqa: F405
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# The lockout tests turn django-axes on; elsewhere `client.login()` (no request) keeps working.
AXES_ENABLED = env.bool("AXES_ENABLED", default=False)
# Every test sees the version in force its own set-up left in the (cleared) cache.
POLICY_CURRENT_LOCAL_SECONDS = env.int("POLICY_CURRENT_LOCAL_SECONDS", default=0)
# Every test sees the calendar exceptions its own set-up wrote.
CALENDAR_LOCAL_SECONDS = env.int("CALENDAR_LOCAL_SECONDS", default=0)
# The webhook tests post to a receiver on localhost, over plain http.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=False)
WEBHOOK_ALLOW_ANY_ADDRESS = env.bool("WEBHOOK_ALLOW_ANY_ADDRESS", default=True)
