"""The WSGI and ASGI guard takes a foreign charset out of Content-Type and notes it for the middleware."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from apps.core.handlers import FOREIGN_CHARSET, asgi_guard, wsgi_guard


def test_wsgi_guard_takes_out_a_foreign_charset_and_keeps_the_other_parameters():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return []

    wsgi_guard(app)({"CONTENT_TYPE": "multipart/form-data; boundary=xyz; charset=rot13"}, None)
    assert seen["CONTENT_TYPE"] == "multipart/form-data; boundary=xyz"
    assert seen[FOREIGN_CHARSET] == "rot13"


def test_wsgi_guard_leaves_utf8_alone():
    seen = {}
    wsgi_guard(lambda environ, start_response: seen.update(environ) or [])(
        {"CONTENT_TYPE": "text/plain; charset=UTF-8"}, None
    )
    assert seen["CONTENT_TYPE"] == "text/plain; charset=UTF-8" and FOREIGN_CHARSET not in seen


def test_asgi_guard_rewrites_the_header_and_notes_the_charset():
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    scope = {"type": "http", "headers": [(b"content-type", b"text/plain; charset=utf-16"), (b"x-a", b"1")]}
    # A loop of its own in a thread of its own: the browser tests may leave one running in this thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, asgi_guard(app)(scope, None, None)).result()
    assert seen["headers"] == [(b"content-type", b"text/plain"), (b"x-a", b"1")]
    assert seen[FOREIGN_CHARSET] == "utf-16"
