"""Settings shared by every environment. Every value a deployer sets comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

SECRET_KEY = env("SECRET_KEY", default="insecure-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

DJANGO_APPS = [
    # The admin site that asks staff for a second factor (ADMIN_REQUIRE_2FA); `admin.site` is this site.
    "apps.accounts.admin_config.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "anymail",
    "phonenumber_field",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ninja",
]
LOCAL_APPS = [
    "apps.core",
    "apps.audit",
    "apps.notifications",
    "apps.accounts",
    "apps.policies",
    "apps.acceptances",
    "apps.calendars",
    "apps.withdrawals",
    "apps.records",
    "apps.breaches",
    "apps.connectors",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the body or the query string; after the locale, so its 400 page is translated.
    "apps.core.middleware.RequireUtf8Middleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before the middleware below that may leave a message (an ended staff session).
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "apps.accounts.middleware.StaffSessionExpiryMiddleware",
    "apps.accounts.middleware.AdminTwoFactorMiddleware",
    "apps.accounts.middleware.UserLanguageMiddleware",
    "apps.acceptances.middleware.PolicyAcceptanceMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, as django-axes asks: turns a locked-out log-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.portal",
                "apps.acceptances.context_processors.policy_banner",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Redis is both cache and broker. While it is unreachable the cache reads as empty and writes are dropped
# (django-redis's IGNORE_EXCEPTIONS): the cache only speeds things up (the version in force, the use
# throttle) or counts (rate limits, which then fail open). The timeouts keep a hung Redis from holding a
# request for long.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="alilo"),
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
else:
    # A broker that does not answer is given up quickly; the outbox sweep sends what could not be queued.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}


CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Almaty"
# A web request must not hang when the broker is down: the outbox sweep delivers what could not be queued.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Workers log through LOGGING below, so its personal-data filter applies to them too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# With Redis, beat keeps its schedule (when each entry last ran) in Redis and holds a lock there (RedBeat):
# a second beat, started by mistake or as a standby, waits for the lock instead of sending every task again,
# and takes over, with the same schedule, within BEAT_LOCK_SECONDS of the first one dying. The leader renews
# the lock at every tick, at least every BEAT_MAX_LOOP_SECONDS. Without Redis (`make run`'s embedded
# default: one machine, one beat) the schedule is the file above.
CELERY_BEAT_MAX_LOOP_INTERVAL = env.int("BEAT_MAX_LOOP_SECONDS", default=10)
CELERY_REDBEAT_LOCK_TIMEOUT = env.int("BEAT_LOCK_SECONDS", default=60)
CELERY_REDBEAT_KEY_PREFIX = env("BEAT_KEY_PREFIX", default="alilo-beat")
# Redis calls are retried for this long before beat gives up (and its supervisor restarts it).
CELERY_REDBEAT_REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "retry_period": 30}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = CELERY_BROKER_URL
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "notifications.outbox_sweep", "schedule": 60.0},
    "webhook-sweep": {"task": "notifications.webhook_sweep", "schedule": 60.0},
    "retention-erase": {"task": "accounts.retention_erase", "schedule": crontab(hour=3, minute=15)},
    "policy-announce-resume": {"task": "policies.announce_resume", "schedule": 300.0},
    "withdrawals-due-digest": {"task": "withdrawals.send_due_digest", "schedule": crontab(hour=9, minute=0)},
    "withdrawals-purge-unverified": {
        "task": "withdrawals.purge_unverified",
        "schedule": crontab(hour=3, minute=20),
    },
    "withdrawals-access-packages-erase": {
        "task": "withdrawals.access_packages_erase",
        "schedule": crontab(hour=3, minute=25),
    },
    "acceptances-implicit-sweep": {"task": "acceptances.implicit_sweep", "schedule": 600.0},
    "acceptances-policy-reminders": {"task": "acceptances.send_reminders", "schedule": 3600.0},
    "breaches-due-digest": {"task": "breaches.send_digest", "schedule": crontab(hour=9, minute=5)},
    "breaches-notices-resume": {"task": "breaches.notices_resume", "schedule": 300.0},
    "connectors-service-calls-sweep": {"task": "connectors.service_calls_sweep", "schedule": 60.0},
}

# --- Email --------------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Alilo <no-reply@alilo.kz>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Every ANYMAIL_* variable becomes a key of ANYMAIL: ANYMAIL_POSTMARK_SERVER_TOKEN -> POSTMARK_SERVER_TOKEN.
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_")
}
# Seconds to wait for the provider's API (connect and read); a hung provider must not hold a worker.
ANYMAIL["REQUESTS_TIMEOUT"] = env.float("ANYMAIL_REQUESTS_TIMEOUT", default=10.0)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_STUCK_MINUTES = env.int("OUTBOX_STUCK_MINUTES", default=15)

# --- Webhooks to the company's other services (docs/webhooks.md) --------------------------------
# Registered URLs must be https://; dev and test settings allow http:// (a receiver on localhost).
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=True)
# Webhook URLs must resolve to public addresses, or to these networks (the company's own services, e.g.
# "10.20.0.0/16"); loopback, link-local and other private addresses are refused. Development and tests allow
# any address (their receivers run on localhost).
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
WEBHOOK_ALLOW_ANY_ADDRESS = env.bool("WEBHOOK_ALLOW_ANY_ADDRESS", default=False)
# Seconds to connect and to wait for the answer; a hung receiver must not hold a worker.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Attempts before a delivery is given up (failed); the waits double from 30 s up to 30 minutes.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=12)
WEBHOOK_STUCK_MINUTES = env.int("WEBHOOK_STUCK_MINUTES", default=15)
# Told in the transaction of a change that people's consent or agreement changed: f(*, user_ids, event, at).
CONSENT_CHANGE_RECEIVERS = ["apps.acceptances.services.consent_change_publish"]

# --- Connected services: calls for people's requests (docs/connected-services.md) -----------------
# Called with (call=) in the transaction in which a service call gets its final answer.
SERVICE_CALL_RECEIVERS = ["apps.withdrawals.receivers.service_call_finished"]
# The wait after a failed post doubles from this many seconds up to the cap; a call is retried until the
# service answers (a service down for the whole term is flagged: SERVICE_CALL_FLAG_HOURS_BEFORE_DUE).
SERVICE_CALL_BACKOFF_SECONDS = env.int("SERVICE_CALL_BACKOFF_SECONDS", default=30)
SERVICE_CALL_BACKOFF_MAX_SECONDS = env.int("SERVICE_CALL_BACKOFF_MAX_SECONDS", default=30 * 60)
# Retries a worker schedules itself; after them the beat sweep posts what is due.
SERVICE_CALL_TASK_RETRIES = env.int("SERVICE_CALL_TASK_RETRIES", default=20)
SERVICE_CALL_STUCK_MINUTES = env.int("SERVICE_CALL_STUCK_MINUTES", default=10)
# An accepted call whose callback has not come after this long is posted again (same call id).
SERVICE_CALL_CALLBACK_WAIT_MINUTES = env.int("SERVICE_CALL_CALLBACK_WAIT_MINUTES", default=4 * 60)
# A callback's signature must be this recent (seconds), so that a captured one cannot be replayed later.
SERVICE_CALL_CALLBACK_TOLERANCE_SECONDS = env.int("SERVICE_CALL_CALLBACK_TOLERANCE_SECONDS", default=300)
SERVICE_CALL_MAX_ANSWER_BYTES = env.int("SERVICE_CALL_MAX_ANSWER_BYTES", default=10 * 1024 * 1024)
# Calls without an answer are flagged (digest, dashboard) once their request is due within this many hours.
SERVICE_CALL_FLAG_HOURS_BEFORE_DUE = env.int("SERVICE_CALL_FLAG_HOURS_BEFORE_DUE", default=24)

# --- Portal -------------------------------------------------------------------------------------
# The organisation's name as pages and emails in each language show it (ORGANISATION_NAME is the Kazakh one).
ORGANISATION_NAME = env("ORGANISATION_NAME", default="«Talli Distribution» ЖШС (Alilo)")
ORGANISATION_NAME_RU = env("ORGANISATION_NAME_RU", default="ТОО «Talli Distribution» (Alilo)")  # noqa: RUF001
ORGANISATION_NAME_EN = env("ORGANISATION_NAME_EN", default="Talli Distribution LLP (Alilo)")
PRIVACY_MAILBOX = env("PRIVACY_MAILBOX", default="info@alilo.kz")
IMPLICIT_ACCEPTANCE_DAYS = env.int("IMPLICIT_ACCEPTANCE_DAYS", default=7)
POLICY_REMINDER_DAYS_BEFORE = env.int("POLICY_REMINDER_DAYS_BEFORE", default=2)
RETENTION_YEARS = env.int("RETENTION_YEARS", default=3)
WITHDRAWAL_DUE_WORKING_DAYS = env.int("WITHDRAWAL_DUE_WORKING_DAYS", default=15)
# The term of each type of request, in Kazakh working days from the day it reached us (docs/operations.md
# names the article behind each default; the operator's counsel confirms them).
ACCESS_DUE_WORKING_DAYS = env.int("ACCESS_DUE_WORKING_DAYS", default=3)
CORRECTION_DUE_WORKING_DAYS = env.int("CORRECTION_DUE_WORKING_DAYS", default=1)
BLOCKING_DUE_WORKING_DAYS = env.int("BLOCKING_DUE_WORKING_DAYS", default=1)
DESTRUCTION_DUE_WORKING_DAYS = env.int("DESTRUCTION_DUE_WORKING_DAYS", default=1)
OBJECTION_DUE_WORKING_DAYS = env.int("OBJECTION_DUE_WORKING_DAYS", default=3)
# The privacy mailbox receives the written applications in this language.
PRIVACY_MAILBOX_LANGUAGE = env("PRIVACY_MAILBOX_LANGUAGE", default="kk")
WITHDRAWAL_CONFIRM_HOURS = env.int("WITHDRAWAL_CONFIRM_HOURS", default=48)
WITHDRAWAL_UNVERIFIED_DELETE_DAYS = env.int("WITHDRAWAL_UNVERIFIED_DELETE_DAYS", default=7)
WITHDRAWAL_DUE_SOON_WORKING_DAYS = env.int("WITHDRAWAL_DUE_SOON_WORKING_DAYS", default=2)
# The access package (docs/access-package.md): the person downloads it for ACCESS_PACKAGE_DOWNLOAD_DAYS after
# the request is granted, through a link emailed to the request's address that works once, for
# ACCESS_PACKAGE_LINK_MINUTES, and opens the downloads in that browser for ACCESS_PACKAGE_SESSION_MINUTES.
# Its content is erased ACCESS_PACKAGE_KEEP_DAYS after it was built (never while its download is open).
# Links asked for one request are limited to ACCESS_PACKAGE_LINK_RATE ("<count>/<s|m|h|d>").
ACCESS_PACKAGE_DOWNLOAD_DAYS = env.int("ACCESS_PACKAGE_DOWNLOAD_DAYS", default=7)
ACCESS_PACKAGE_LINK_MINUTES = env.int("ACCESS_PACKAGE_LINK_MINUTES", default=60)
ACCESS_PACKAGE_SESSION_MINUTES = env.int("ACCESS_PACKAGE_SESSION_MINUTES", default=15)
ACCESS_PACKAGE_KEEP_DAYS = env.int("ACCESS_PACKAGE_KEEP_DAYS", default=30)
ACCESS_PACKAGE_LINK_RATE = env("ACCESS_PACKAGE_LINK_RATE", default="3/h")
# django-ratelimit rates for the withdrawal form ("<count>/<s|m|h|d>").
WITHDRAWAL_RATE_PER_IP = env("WITHDRAWAL_RATE_PER_IP", default="20/h")
WITHDRAWAL_RATE_PER_EMAIL = env("WITHDRAWAL_RATE_PER_EMAIL", default="10/h")
# Sections of the "My privacy" page: dotted paths to `(request) -> {"template", "context"} | None`.
MY_PRIVACY_SECTIONS = [
    "apps.withdrawals.selectors.my_privacy_section",
    "apps.records.selectors.my_privacy_section",
]
# The purposes of processing (policy clause 2.1) a person may withdraw consent for: their TextChoices.
CONSENT_PURPOSES = "apps.withdrawals.models.Purpose"
# Blocks of the admin index dashboard: dotted paths to `(request) -> {"template", "context"} | None`
# (None when the staff member may not open the list behind the block).
ADMIN_DASHBOARD_BLOCKS = [
    "apps.withdrawals.selectors.admin_dashboard_block",
    "apps.acceptances.selectors.admin_dashboard_block",
    "apps.calendars.selectors.admin_dashboard_block",
    "apps.breaches.selectors.admin_dashboard_block",
]
# --- Proof for the regulator: consent records (apps/records) and breaches (apps/breaches) ----------
# The controller named in every consent record.
ORGANISATION_LEGAL_NAME = env("ORGANISATION_LEGAL_NAME", default="Talli Distribution LLP")
ORGANISATION_BIN = env("ORGANISATION_BIN", default="")
# The private JWK (EC P-256, JSON) that signs consent records; without it a development key is generated into
# CONSENT_SIGNING_KEY_FILE. Retired public keys (a JWKS) stay published so older records still verify.
CONSENT_SIGNING_KEY = env("CONSENT_SIGNING_KEY", default="")
CONSENT_SIGNING_KEY_FILE = env("CONSENT_SIGNING_KEY_FILE", default=str(VAR_DIR / "consent-signing-key.json"))
CONSENT_RETIRED_PUBLIC_KEYS = env("CONSENT_RETIRED_PUBLIC_KEYS", default="")
# Keys the HMAC that names a person in records; changing it changes every pseudonymous id.
CONSENT_SUBJECT_ID_SECRET = env("CONSENT_SUBJECT_ID_SECRET", default=SECRET_KEY)
CONSENT_RECORD_MAX_BYTES = env.int("CONSENT_RECORD_MAX_BYTES", default=512 * 1024)
# Law 94-V Art. 25(2)(8): the authorised body is told of a breach within this many working days.
BREACH_NOTICE_WORKING_DAYS = env.int("BREACH_NOTICE_WORKING_DAYS", default=1)
# User ids per transaction of a breach notice to the people affected (a stopped worker loses one range).
BREACH_NOTICE_CHUNK_IDS = env.int("BREACH_NOTICE_CHUNK_IDS", default=5000)
BREACH_LETTER_MAX_BYTES = env.int("BREACH_LETTER_MAX_BYTES", default=10 * 1024 * 1024)
USE_TRACKING_INTERVAL_SECONDS = env.int("USE_TRACKING_INTERVAL_SECONDS", default=300)
# Each process keeps the version in force this many seconds before asking the cache again (0: every time).
POLICY_CURRENT_LOCAL_SECONDS = env.int("POLICY_CURRENT_LOCAL_SECONDS", default=5)
# Each process keeps the calendar exceptions this long before asking the cache whether they changed.
CALENDAR_LOCAL_SECONDS = env.int("CALENDAR_LOCAL_SECONDS", default=30)
# Called with (day=, actor=) in the transaction that changes a day of the working calendar: each app that
# stores a term counted in working days counts again the terms spanning that day.
CALENDAR_CHANGE_RECEIVERS = [
    "apps.withdrawals.services.withdrawal_due_dates_recompute",
    "apps.breaches.services.breach_deadlines_recompute",
]
IMPLICIT_SWEEP_CHUNK_SIZE = env.int("IMPLICIT_SWEEP_CHUNK_SIZE", default=20000)
# Users per transaction of the announcement fan-out; a crash loses at most one range, resumed later.
POLICY_ANNOUNCEMENT_CHUNK_SIZE = env.int("POLICY_ANNOUNCEMENT_CHUNK_SIZE", default=10000)
# The beat resume restarts an unfinished announcement (its worker died) once it was published this long ago.
POLICY_ANNOUNCE_RESUME_AFTER_SECONDS = env.int("POLICY_ANNOUNCE_RESUME_AFTER_SECONDS", default=120)
API_USE_BATCH_MAX = env.int("API_USE_BATCH_MAX", default=1000)
# Sign-up emails a link that confirms the address; it works once, for this many hours. Sending it again from
# the account page is limited per account ("<count>/<s|m|h|d>").
ACCOUNT_VERIFY_HOURS = env.int("ACCOUNT_VERIFY_HOURS", default=48)
RATELIMIT_VERIFY_EMAIL_USER = env("RATELIMIT_VERIFY_EMAIL_USER", default="3/h")

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuses log-ins for a locked-out email and address before the password is checked (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:account"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
PHONENUMBER_DEFAULT_REGION = "KZ"
PHONENUMBER_DB_FORMAT = "E164"

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "kk"
LANGUAGES = [("kk", _("Kazakh")), ("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [env.path("LOCALE_PATH", default=str(BASE_DIR / "locale"))]
# Kazakh date and number formats (Django ships none for kk).
FORMAT_MODULE_PATH = ["apps.core.formats"]
LANGUAGE_COOKIE_NAME = "alilo_language"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security (production.py adds HTTPS-only settings) --------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Number of reverse proxies in front of the app. Only then are X-Forwarded-For (client address, see
# apps.core.http.client_ip) and X-Forwarded-Proto (HTTPS) believed; otherwise the socket is.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None

# Content-Security-Policy (django-csp), everywhere, so tests prove each page works under it. Page templates
# carry no inline script, style or event handler; the admin uses its own static files only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Staff: a second factor (TOTP) for the admin; sessions that end after a working day.
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=False)
STAFF_SESSION_HOURS = env.int("STAFF_SESSION_HOURS", default=8)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Alilo Privacy Portal")

# Brute force: lock out an email and address pair after repeated failures (django-axes), site and admin.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "apps.accounts.security.axes_username"
AXES_CLIENT_IP_CALLABLE = "apps.core.http.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.lockout"
AXES_VERBOSE = False

# Logs carry no personal data and no secrets: every handler redacts emails, phone numbers and addresses, and
# the tokens of emailed links and query-string values from the paths it logs (runserver's request log,
# Django's "Not Found: /path"). Django's own handlers for the "django" loggers are replaced by these.
_LOG_FILTERS = ["redact_url_secrets", "redact_personal_data"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_personal_data": {"()": "apps.core.log_filters.RedactPersonalDataFilter"},
        "redact_url_secrets": {"()": "apps.core.request_logs.RedactUrlSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": _LOG_FILTERS},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": _LOG_FILTERS,
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
PORTAL_VERSION = env("PORTAL_VERSION", default="0.1.0")

# --- Rate limits (django-ratelimit) -------------------------------------------------------------
RATELIMIT_VIEW = "config.views.ratelimited"
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# The counters live in Redis; while it is down, requests are let through rather than all refused.
RATELIMIT_FAIL_OPEN = env.bool("RATELIMIT_FAIL_OPEN", default=True)

# Each app that keeps personal data erases its part for users past retention: f(*, user_ids, emails).
RETENTION_ERASERS = [
    "apps.notifications.services.outbox_personal_data_erase",
    "apps.acceptances.services.acceptance_personal_data_erase",
    "apps.withdrawals.services.withdrawal_personal_data_erase",
]
# Daily retention sweeps of personal data that belongs to no account: f(*, now) -> int.
RETENTION_SWEEPS = [
    "apps.withdrawals.services.withdrawal_visitor_requests_erase",
]
RATELIMIT_IP_META_KEY = "apps.core.http.client_ip"
# "N/period" (s, m, h, d; e.g. "10/5m"). Per address first, then per email where the form has one.
RATELIMIT_SIGNUP_IP = env("RATELIMIT_SIGNUP_IP", default="10/h")
RATELIMIT_LOGIN_IP = env("RATELIMIT_LOGIN_IP", default="30/10m")
# Per email from one /24 (IPv4) or /64 (IPv6) network, never from every address together: failures
# elsewhere cannot lock the owner out (apps.accounts.security.username_network_key).
RATELIMIT_LOGIN_EMAIL_NETWORK = env("RATELIMIT_LOGIN_EMAIL_NETWORK", default="20/h")
RATELIMIT_PASSWORD_RESET_IP = env("RATELIMIT_PASSWORD_RESET_IP", default="10/h")
RATELIMIT_PASSWORD_RESET_EMAIL = env("RATELIMIT_PASSWORD_RESET_EMAIL", default="3/h")
RATELIMIT_TWO_FACTOR_USER = env("RATELIMIT_TWO_FACTOR_USER", default="10/5m")
