from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    """An email provider that is always down."""

    def send_messages(self, email_messages):
        raise ConnectionError("provider is down")
