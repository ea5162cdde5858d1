"""A small connected service that speaks the portal's contract (docs/connected-services.md), with the standard
library only: the tests run it, and Alilo's developers can read it as an example.

    python -m apps.connectors.reference_service --port 8765 --secret cssec_... --mode now|later|timeout|down

It keeps demo data per email address (a profile, orders, locations, search history), made up the first time it
sees an address, and applies export, correct, block, unblock and destroy to that store. Modes:

- now: answers 200 {"status": "done", "data": ...} at once;
- later: answers 202 {"status": "accepted"}, does the work, and POSTs a signed callback after a delay;
- timeout: does the work but answers only after a sleep longer than the portal waits;
- down: answers 500 to everything (stop the server for a refused connection);
- failed: answers 200 {"status": "failed", "message": ...} (the service cannot do it).

A call id it has seen is the same call: it is not applied twice, and its answer is given again. Nothing here
imports Django, so the signature is computed as any service would (HMAC-SHA256 of "<t>.<body>").
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)

MODES = ("now", "later", "timeout", "down", "failed")
SIGNATURE_HEADER = "X-Alilo-Signature"
TOLERANCE_SECONDS = 300
PROFILE_FIELDS = ("full_name", "email", "phone", "postal_address")
CITIES = ("Almaty", "Astana", "Shymkent", "Karaganda", "Aktobe", "Pavlodar")
PRODUCTS = ("Tea set", "Wool scarf", "Phone case", "Desk lamp", "Backpack", "Kettle")
SEARCHES = ("winter boots", "gift for mother", "usb-c cable", "green tea", "running shoes", "notebook")
KEPT_AFTER_DESTROY = {
    "data": "orders",
    "reason": "Invoices are kept for five years, as the Tax Code of the Republic of Kazakhstan requires.",
}


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Return the X-Alilo-Signature header for `body`: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_valid(secret: str, header: str, body: bytes) -> bool:
    """Whether `header` signs `body` with `secret` and was made within TOLERANCE_SECONDS of now."""
    parts = dict(item.strip().partition("=")[::2] for item in (header or "").split(","))
    stamp = parts.get("t", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, body, int(stamp)), f"t={stamp},v1={parts.get('v1', '')}")


def demo_record(email: str) -> dict:
    """Return made-up data about `email`, the same each time for the same address."""
    seed = int(hashlib.sha256(email.lower().encode()).hexdigest(), 16)

    def pick(options, shift):
        return options[(seed >> shift) % len(options)]

    return {
        "profile": {"email": email, "full_name": "", "phone": "", "postal_address": ""},
        "orders": [
            {
                "number": f"SO-{(seed >> (8 * n)) % 900000 + 100000}",
                "date": f"2026-0{n + 1}-1{n}",
                "item": pick(PRODUCTS, 4 * n),
                "total_kzt": 5000 + (seed >> (3 * n)) % 40000,
                "delivery_city": pick(CITIES, 5 * n),
            }
            for n in range(2)
        ],
        "locations": [
            {"city": pick(CITIES, 7 * n + 1), "seen_at": f"2026-0{n + 3}-0{n + 1}T10:00:00Z"}
            for n in range(3)
        ],
        "search_history": [pick(SEARCHES, 6 * n + 2) for n in range(3)],
        "blocked": False,
    }


@dataclass
class Callback:
    """A callback the service owes the portal: where, the exact body, its signature."""

    url: str
    body: bytes
    signature: str


class ReferenceService:
    """The service: its store, its mode, and its HTTP server (run in a thread by start())."""

    def __init__(
        self,
        *,
        secret: str,
        mode: str = "now",
        host: str = "127.0.0.1",
        port: int = 0,
        callback_delay: float = 2.0,
        auto_callback: bool = True,
        callback_base: str = "",
        timeout_sleep: float = 60.0,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.secret = secret
        self.mode = mode
        self.host = host
        self.port = port
        self.callback_delay = callback_delay
        self.auto_callback = auto_callback
        # Where callbacks go instead of the URL's own scheme and host (a test server on another port).
        self.callback_base = callback_base
        self.timeout_sleep = timeout_sleep
        self.store: dict[str, dict] = {}
        self.answers: dict[str, dict] = {}  # call id -> the answer given
        self.received: list[dict] = []  # every call posted, valid or not, in order
        self.pending: list[Callback] = []  # callbacks not yet sent (auto_callback off, or not sent yet)
        self.sent: list[tuple[Callback, int | None]] = []
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # --- Serving ---

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/alilo/calls"

    def start(self) -> ReferenceService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = service.handle(body, self.headers.get(SIGNATURE_HEADER, ""))
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the portal stopped waiting (timeout mode)
                    pass

            def log_message(self, format, *args):
                logger.debug("reference service: " + format, *args)

        self._stopping.clear()
        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (a connection to the port is then refused); start() serves the same store again."""
        self._stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handle(self, body: bytes, signature: str) -> tuple[int, dict]:
        """Answer one call: (HTTP status, JSON answer)."""
        with self.lock:
            self.received.append({"body": body, "mode": self.mode, "at": time.time()})
            mode = self.mode
        if mode == "down":
            return 500, {"error": "The service is down."}
        if not signature_valid(self.secret, signature, body):
            return 401, {"error": "Bad signature."}
        try:
            call = json.loads(body)
            call_id, action, email = call["call"], call["action"], call["person"]["email"]
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "Not a call."}
        if mode == "timeout":
            self._stopping.wait(self.timeout_sleep)
        with self.lock:
            seen = self.answers.get(call_id)
            if seen is None:
                if mode == "failed":
                    seen = {"status": "failed", "message": "This service cannot do that for this person."}
                else:
                    seen = {"status": "done", "data": self.apply(action, email, call.get("changes") or [])}
                self.answers[call_id] = seen
                if mode == "later":
                    self._owe_callback(call, seen)
            waiting = any(json.loads(item.body)["call"] == call_id for item in self.pending)
        if mode == "later" and waiting:
            return 202, {"status": "accepted"}
        return 200, seen

    # --- The store ---

    def record(self, email: str) -> dict:
        key = email.lower()
        with self.lock:
            if key not in self.store:
                self.store[key] = demo_record(email)
            return self.store[key]

    def apply(self, action: str, email: str, changes: list) -> dict:
        """Do `action` for `email` in the store; return what the answer's data says."""
        with self.lock:
            record = self.record(email)
            if action == "export":
                return copy.deepcopy(record)
            if action == "correct":
                corrected = []
                for change in changes:
                    if isinstance(change, dict) and change.get("field") in PROFILE_FIELDS:
                        record["profile"][change["field"]] = change.get("value", "")
                        corrected.append(change["field"])
                return {"corrected": corrected}
            if action in ("block", "unblock"):
                record["blocked"] = action == "block"
                return {"blocked": record["blocked"]}
            if action == "destroy":
                kept = [
                    {"number": order["number"], "date": order["date"], "total_kzt": order["total_kzt"]}
                    for order in record["orders"]
                ]
                self.store[email.lower()] = {
                    "profile": {},
                    "orders": kept,
                    "locations": [],
                    "search_history": [],
                    "blocked": True,
                }
                return {
                    "destroyed": ["profile", "delivery addresses", "locations", "search_history"],
                    "kept": [KEPT_AFTER_DESTROY] if kept else [],
                }
            return {"ignored": action}

    # --- Callbacks ---

    def _owe_callback(self, call: dict, answer: dict) -> None:
        body = json.dumps(
            {"call": call["call"], "status": answer["status"], "data": answer.get("data", {}), "message": ""}
        ).encode()
        url = call.get("callback_url") or ""
        if self.callback_base:
            parts = urllib.parse.urlsplit(url)
            url = self.callback_base.rstrip("/") + parts.path
        callback = Callback(url=url, body=body, signature="")
        self.pending.append(callback)
        if self.auto_callback:
            timer = threading.Timer(self.callback_delay, self._send_soon, args=[callback])
            timer.daemon = True
            timer.start()

    def _send_soon(self, callback: Callback, tries: int = 5) -> None:
        for attempt in range(tries):
            if self._stopping.is_set():
                return
            if self.send(callback) in (200, 404, 400, 401):
                return
            time.sleep(0.5 * (attempt + 1))

    def send(self, callback: Callback) -> int | None:
        """POST one callback, signed now; return the portal's HTTP status (None: no answer)."""
        callback.signature = sign(self.secret, callback.body)
        request = urllib.request.Request(  # noqa: S310 (the portal's own callback URL)
            callback.url,
            data=callback.body,
            method="POST",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: callback.signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except OSError:
            status = None
        with self.lock:
            self.sent.append((callback, status))
            if status is not None and callback in self.pending:
                self.pending.remove(callback)
        return status

    def take_callbacks(self) -> list[Callback]:
        """Return the callbacks owed and forget them, each signed now (to deliver them some other way)."""
        with self.lock:
            owed, self.pending = self.pending, []
        for callback in owed:
            callback.signature = sign(self.secret, callback.body)
        return owed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Register its endpoint in the portal as http://HOST:PORT/alilo/calls with the same secret.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", required=True, help="the signing secret registered in the portal")
    parser.add_argument("--mode", choices=MODES, default="now")
    parser.add_argument("--callback-delay", type=float, default=5.0, help="seconds before a later callback")
    parser.add_argument("--sleep", type=float, default=60.0, help="seconds the timeout mode waits")
    parser.add_argument(
        "--callback-base", default="", help="send callbacks here instead of the callback URL's own host"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    service = ReferenceService(
        secret=args.secret,
        mode=args.mode,
        host=args.host,
        port=args.port,
        callback_delay=args.callback_delay,
        callback_base=args.callback_base,
        timeout_sleep=args.sleep,
    ).start()
    print(f"Reference service ({args.mode}) listening at {service.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        service.stop()


if __name__ == "__main__":
    main()
