from django.core.exceptions import BadRequest

from .handlers import FOREIGN_CHARSET
from .http import charset_is_utf8


class RequireUtf8Middleware:
    """Answer 400 to a request that declares a character set other than UTF-8.

    Browsers send forms in UTF-8 and JSON is UTF-8 (RFC 8259). Django decodes a multipart body and the query
    string in the declared character set, and some names Python knows are no text encoding (rot13, base64,
    zlib) or cannot replace bad bytes (idna): they raise where no view can catch them, and Django's error
    pages would read the same body again. Refused here, before anything reads the request, it is a 400. The
    portal's WSGI and ASGI applications (handlers.py) take such a charset out of the header before Django
    builds the request, and note it for this middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        charset = request.content_params.get("charset")
        scope = getattr(request, "scope", None)  # an ASGI request
        noted = scope.get(FOREIGN_CHARSET) if scope is not None else request.META.get(FOREIGN_CHARSET)
        if noted or (charset is not None and not charset_is_utf8(charset)):
            raise BadRequest("The request declares a character set other than UTF-8.")
        return self.get_response(request)
