import os

import django

from apps.core.handlers import PortalWSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# As django.core.wsgi.get_wsgi_application(), with the portal's handler.
django.setup(set_prefix=False)
application = PortalWSGIHandler()
