"""Celery application: `celery -A config worker` and `celery -A config beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("alilo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# RedBeat (CELERY_BEAT_SCHEDULER) looks its options up by their own names (redbeat_*), not through the
# CELERY_ namespace, and falls back to the broker's settings when it does not find them there.
REDBEAT_OPTIONS = ("redbeat_redis_url", "redbeat_key_prefix", "redbeat_lock_timeout", "redbeat_redis_options")


@app.on_after_configure.connect
def redbeat_options(sender, **kwargs) -> None:
    sender.conf.update({name: sender.conf[name] for name in REDBEAT_OPTIONS if name in sender.conf})
