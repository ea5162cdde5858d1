import os

from django.core.asgi import get_asgi_application

from apps.core.handlers import asgi_guard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = asgi_guard(get_asgi_application())
