"""Benchmarks run on their own PostgreSQL database, with production-like settings where it matters."""

from config.settings.test import *  # noqa: F403
from config.settings.test import BASE_DIR, env

DATABASES = {
    "default": env.db("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/alilo_bench")
}
DATABASES["default"]["CONN_MAX_AGE"] = 60
CACHES["default"]["KEY_PREFIX"] = env("CACHE_KEY_PREFIX", default="alilo") + "-bench"  # noqa: F405
DEBUG = False
LOGGING["root"]["level"] = "ERROR"  # noqa: F405
# The product's URLs plus the baselines' bare views (bench/urls.py).
ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]  # noqa: F405
# Many requests come from one address and one account: the rate limits would answer 429.
RATELIMIT_ENABLE = False
# The staff user of the admin scenario signs in with a password only.
ADMIN_REQUIRE_2FA = False
AXES_ENABLED = False
# As in production: each process keeps the version in force a few seconds.
POLICY_CURRENT_LOCAL_SECONDS = 5
# Static files are served from the finders, looked up once at start, not on every request.
WHITENOISE_AUTOREFRESH = False
