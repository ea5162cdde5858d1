"""Benchmarks run on their own PostgreSQL database, with production-like settings where it matters."""

from config.settings.test import *  # noqa: F403
from config.settings.test import env

DATABASES = {
    "default": env.db("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/alilo_bench")
}
DATABASES["default"]["CONN_MAX_AGE"] = 60
CACHES["default"]["KEY_PREFIX"] = "alilo-bench"  # noqa: F405
DEBUG = False
LOGGING["root"]["level"] = "ERROR"  # noqa: F405
