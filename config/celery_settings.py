"""Django's CELERY_* settings as a plain dict, read by the Celery app (config/celery.py).

Celery looks up a dozen settings for every task it queues, and most are left at their defaults. Through
`django.conf.settings` each such lookup fails several attribute reads (one per spelling Celery tries)
before reaching the default: about a quarter of the cost of queueing a task from a web request. Read from a
dict, a miss costs next to nothing. The dict is taken once, when Celery first reads its configuration.
"""

from django.conf import settings

CELERY = {name: getattr(settings, name) for name in dir(settings) if name.startswith("CELERY_")}
