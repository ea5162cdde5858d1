import os

from django.core.wsgi import get_wsgi_application

from apps.core.handlers import wsgi_guard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = wsgi_guard(get_wsgi_application())
