"""The portal's WSGI and ASGI applications: Django's, behind a guard for the declared charset.

Django decodes the query string in the charset a request declares while it builds the request, before any
middleware or error page: `?a=1` with `Content-Type: text/plain; charset=rot13` raised there and the
server answered a bare 500. The guard takes a charset other than UTF-8 out of the Content-Type header and
notes it in FOREIGN_CHARSET, so Django reads the request as UTF-8 and RequireUtf8Middleware answers 400
with the portal's own page.
"""

from django.utils.http import parse_header_parameters

from .http import charset_is_utf8

FOREIGN_CHARSET = "portal.foreign_charset"


def _without_foreign_charset(content_type: str) -> tuple[str, str | None]:
    """Return the Content-Type without a charset other than UTF-8, and that charset (None when none)."""
    media_type, params = parse_header_parameters(content_type)
    charset = params.get("charset")
    if charset is None or charset_is_utf8(charset):
        return content_type, None
    kept = "".join(f"; {name}={value}" for name, value in params.items() if name != "charset")
    return media_type + kept, charset


def wsgi_guard(application):
    def guarded(environ, start_response):
        content_type, foreign = _without_foreign_charset(environ.get("CONTENT_TYPE", ""))
        if foreign is not None:
            environ = {**environ, "CONTENT_TYPE": content_type, FOREIGN_CHARSET: foreign}
        return application(environ, start_response)

    return guarded


def asgi_guard(application):
    async def guarded(scope, receive, send):
        if scope.get("type") == "http":
            headers, foreign = [], None
            for name, value in scope.get("headers", []):
                if name.lower() == b"content-type":
                    text, foreign = _without_foreign_charset(value.decode("latin-1"))
                    value = text.encode("latin-1")
                headers.append((name, value))
            if foreign is not None:
                scope = {**scope, "headers": headers, FOREIGN_CHARSET: foreign}
        return await application(scope, receive, send)

    return guarded
