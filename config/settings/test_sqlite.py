"""The flow tests on `make run`'s embedded default: SQLite, a broker and a cache in files, no server.

`pytest --ds=config.settings.test_sqlite tests/flows` runs them; DATABASE_URL and REDIS_URL are ignored, so
the pass never touches the PostgreSQL and Redis the rest of the suite uses. Everything lives under
VAR_DIR/test-sqlite, apart from the files `make run` itself writes to.
"""

from .base import VAR_DIR
from .test import *  # noqa: F403

_DIR = VAR_DIR / "test-sqlite"

# As base.py builds the embedded default; pytest-django creates (--create-db) the file named by TEST.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_DIR / "db.sqlite3"),
        "ATOMIC_REQUESTS": False,
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        "TEST": {"NAME": str(_DIR / "test-db.sqlite3")},
    }
}

REDIS_URL = ""
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(_DIR / "cache"),
    }
}

# The filesystem transport `make run` uses when REDIS_URL is empty: publishing never waits for a server.
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_DIR / "broker"),
    "data_folder_out": str(_DIR / "broker"),
    "control_folder": str(_DIR / "broker-control"),
}
CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = str(_DIR / "celerybeat-schedule")
EMAIL_FILE_PATH = str(_DIR / "mail")

# scripts/run.py creates these folders before it starts anything; kombu creates only the control folder.
for _folder in ("broker", "broker-control", "cache", "mail"):
    (_DIR / _folder).mkdir(parents=True, exist_ok=True)
