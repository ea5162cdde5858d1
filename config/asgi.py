import os

import django

from apps.core.handlers import PortalASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# As django.core.asgi.get_asgi_application(), with the portal's handler.
django.setup(set_prefix=False)
application = PortalASGIHandler()
