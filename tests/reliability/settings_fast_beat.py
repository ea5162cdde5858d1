"""The test settings with beat's frequent entries every few seconds, for the scenarios that run beat for real.

Only the interval entries change (the outbox sweep, the announcement's resume, the implicit sweep, the
reminders); the daily ones keep their crontab. BEAT_FAST_SECONDS sets the interval (default 2).
"""

from config.settings.test import *  # noqa: F403
from config.settings.test import CELERY_BEAT_SCHEDULE, env

_FAST = env.float("BEAT_FAST_SECONDS", default=2.0)
CELERY_BEAT_SCHEDULE = {
    name: {**entry, "schedule": _FAST} if isinstance(entry["schedule"], float) else entry
    for name, entry in CELERY_BEAT_SCHEDULE.items()
}
