"""A stand-in email provider on loopback, answering like Postmark's /email endpoint."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeESP:
    def __init__(self) -> None:
        self.received: list[dict] = []
        self.failures_left = 0
        self.mode = "ok"  # ok | error | timeout
        self.delay = 0.0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with owner.lock:
                    failing = owner.mode != "ok" or owner.failures_left > 0
                    if owner.failures_left > 0:
                        owner.failures_left -= 1
                    mode = owner.mode if owner.mode != "ok" else "error"
                if failing and mode == "timeout":
                    time.sleep(owner.delay or 15)
                if failing:
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ErrorCode": 100, "Message": "Internal error"}')
                    return
                message_id = str(uuid.uuid4())
                with owner.lock:
                    owner.received.append({**payload, "MessageID": message_id})
                body = {"To": payload.get("To"), "MessageID": message_id, "ErrorCode": 0, "Message": "OK"}
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def anymail_settings(self) -> dict:
        return {"POSTMARK_SERVER_TOKEN": "test-token", "POSTMARK_API_URL": self.url}

    def environ(self) -> dict[str, str]:
        return {
            "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
            "ANYMAIL_POSTMARK_SERVER_TOKEN": "test-token",
            "ANYMAIL_POSTMARK_API_URL": self.url,
        }

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sent_to(self, address: str) -> list[dict]:
        return [message for message in self.received if address in (message.get("To") or "")]
