"""A service's webhook on loopback: a tiny threading HTTP server that keeps every POST and answers as told,
and the signature check docs/webhooks.md asks receivers to make."""

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """Answer each POST with the next of `answers` (an HTTP status), then with 200 once they run out."""

    def __init__(self, answers: list[int] = (), *, delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.delay = delay
        self.received: list[Received] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner.lock:
                    owner.received.append(Received(self.path, dict(self.headers.items()), body))
                    status = owner.answers.pop(0) if owner.answers else 200
                if owner.delay:
                    time.sleep(owner.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alilo"

    def __enter__(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def signature_valid(*, secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """Check `X-Alilo-Signature: t=<unix>,v1=<hex>` as a receiver does: HMAC-SHA256 of "<t>.<body>"."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", "")) and abs(time.time() - timestamp) <= tolerance
