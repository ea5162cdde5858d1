"""The portal's WSGI and ASGI handlers: Django's, with requests that are never decoded in another charset."""

from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.utils.http import parse_header_parameters

from .http import charset_is_utf8


class Utf8RequestMixin:
    """Keep a declared charset in `content_params`, but decode the request only in UTF-8.

    Django sets `encoding` to whatever codec Python knows, and setting it decodes the query string at once:
    `?a=1` with `Content-Type: text/plain; charset=rot13` raises while the request is built, before any
    middleware or error page, and the server answers a bare 500. Left at the default here, such a request
    reaches RequireUtf8Middleware, which answers 400.
    """

    def _set_content_type_params(self, meta):
        self.content_type, self.content_params = parse_header_parameters(meta.get("CONTENT_TYPE", ""))
        charset = self.content_params.get("charset")
        if charset is not None and charset_is_utf8(charset):
            self.encoding = charset  # as Django does


class PortalWSGIRequest(Utf8RequestMixin, WSGIRequest):
    pass


class PortalASGIRequest(Utf8RequestMixin, ASGIRequest):
    pass


class PortalWSGIHandler(WSGIHandler):
    request_class = PortalWSGIRequest


class PortalASGIHandler(ASGIHandler):
    request_class = PortalASGIRequest
