"""The proxy in deploy/ speaks TLS 1.2 and 1.3 only, redirects HTTP, forwards to the app, logs no secrets."""

import http.client
import json
import re
import socket
import ssl
import subprocess
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.servers import free_port, port_open, wait_for
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "portal.conf.template"


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    def listening() -> bool:
        if process.poll() is not None:
            pytest.fail(f"nginx exited: {log.read_text()[-2000:]}")
        return port_open(port)

    try:
        wait_for(listening, timeout=15, interval=0.05)
    except TimeoutError:
        pytest.fail(f"nginx did not listen on {port}: {log.read_text()[-2000:]}")


class Upstream:
    """Stands for the app server: answers 200 and remembers the headers the proxy sent."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                return

            def do_GET(self):
                owner.requests.append({"path": self.path, "headers": dict(self.headers.items())})
                body = json.dumps({"path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if self.path.startswith("/app-hsts"):
                    self.send_header("Strict-Transport-Security", "max-age=600")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def tls_proxy(tmp_path_factory):
    """nginx with deploy/'s configuration and a throwaway certificate, in front of a local upstream."""
    nginx = require_tool("nginx", "apt-get install nginx-light", paths=["/usr/sbin/nginx"])
    openssl = require_tool("openssl", "apt-get install openssl")
    tmp = tmp_path_factory.mktemp("nginx")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    http_port, https_port = free_port(), free_port()
    with Upstream() as upstream:
        values = {
            "SERVER_NAME": "localhost 127.0.0.1",
            "APP_UPSTREAM": f"127.0.0.1:{upstream.port}",
            "TLS_CERTIFICATE": str(cert),
            "TLS_CERTIFICATE_KEY": str(key),
            "HTTP_PORT": f"127.0.0.1:{http_port}",
            "HTTPS_PORT": f"127.0.0.1:{https_port}",
        }
        site = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], TEMPLATE.read_text())
        (tmp / "portal.conf").write_text(site)
        temp_paths = "".join(
            f"{name}_temp_path {tmp / name};\n"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (tmp / "nginx.conf").write_text(
            f"daemon off;\nmaster_process off;\npid {tmp / 'nginx.pid'};\n"
            f"error_log {tmp / 'error.log'} warn;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{\n{temp_paths}include {tmp / 'portal.conf'};\n}}\n"
        )
        base = [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
        checked = subprocess.run([*base, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        log = tmp / "nginx.out"
        with open(log, "w") as out:
            process = subprocess.Popen(base, stdout=out, stderr=subprocess.STDOUT)
            try:
                _wait_for_port(https_port, process, tmp / "error.log")
                _wait_for_port(http_port, process, tmp / "error.log")
                yield {
                    "http": http_port,
                    "https": https_port,
                    "upstream": upstream,
                    "cert": cert,
                    "key": key,
                    "access_log": log,
                }
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


def _client_context(version: ssl.TLSVersion, cafile: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(cafile))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        # Debian's OpenSSL does not even offer TLS 1.0/1.1 at its default level: lower it on the client so
        # that any refusal comes from the server.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def _handshake(port: int, context: ssl.SSLContext) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["1.2", "1.3"])
def test_tls_12_and_13_handshakes_succeed_and_reach_the_app(tls_proxy, version):
    context = _client_context(version, tls_proxy["cert"])
    connection = http.client.HTTPSConnection("localhost", tls_proxy["https"], context=context, timeout=5)
    connection.request("GET", f"/accounts/?v={version.name}")
    response = connection.getresponse()
    assert connection.sock.version() == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
    assert response.status == 200
    assert json.loads(response.read()) == {"path": f"/accounts/?v={version.name}"}
    assert response.getheader("Strict-Transport-Security").startswith("max-age=31536000")
    connection.close()

    forwarded = tls_proxy["upstream"].requests[-1]["headers"]
    assert forwarded["X-Forwarded-Proto"] == "https"
    assert forwarded["X-Forwarded-For"].split(",")[-1].strip() == "127.0.0.1"
    assert forwarded["Host"] == "localhost"


def test_app_hsts_header_is_not_doubled(tls_proxy):
    context = _client_context(ssl.TLSVersion.TLSv1_3, tls_proxy["cert"])
    connection = http.client.HTTPSConnection("localhost", tls_proxy["https"], context=context, timeout=5)
    connection.request("GET", "/app-hsts")
    response = connection.getresponse()
    response.read()
    assert response.msg.get_all("Strict-Transport-Security") == ["max-age=600"]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["1.0", "1.1"])
def test_tls_10_and_11_are_refused_by_the_server(tls_proxy, version):
    # The same client does complete such a handshake with a server that allows it ...
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        server_context.minimum_version = ssl.TLSVersion.TLSv1
    server_context.set_ciphers("DEFAULT:@SECLEVEL=0")
    server_context.load_cert_chain(str(tls_proxy["cert"]), str(tls_proxy["key"]))
    listener = socket.create_server(("127.0.0.1", 0))

    def accept_one():
        conn, _address = listener.accept()
        try:
            server_context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()
    client = _client_context(version, tls_proxy["cert"])
    assert _handshake(listener.getsockname()[1], client) in ("TLSv1", "TLSv1.1")
    thread.join(5)
    listener.close()

    # ... but the portal's proxy refuses it.
    with pytest.raises(ssl.SSLError):
        _handshake(tls_proxy["https"], client)


def test_weak_tls12_cipher_is_refused(tls_proxy):
    context = _client_context(ssl.TLSVersion.TLSv1_2, tls_proxy["cert"])
    context.set_ciphers("AES128-SHA:@SECLEVEL=0")  # no forward secrecy, CBC
    with pytest.raises(ssl.SSLError):
        _handshake(tls_proxy["https"], context)


def test_plain_http_redirects_to_https(tls_proxy):
    connection = http.client.HTTPConnection("127.0.0.1", tls_proxy["http"], timeout=5)
    connection.request("GET", "/withdrawals/new/?lang=ru", headers={"Host": "privacy.example.kz"})
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == "https://privacy.example.kz/withdrawals/new/?lang=ru"
    connection.close()


def test_access_log_has_no_tokens_query_strings_or_client_addresses(tls_proxy):
    status = "1fac40d45fe54c4698ea30051bb87dfd:c1NOdK2nCipxvCG1yIRtBARDFNr_IU6nTNJw4ALs180"
    confirm = "0c6f3e8a5b7c4d1e9f2a3b4c5d6e7f80:1uRzQk:Xk8Jd0hF5aQ2bC7eG9iL1nP3rT5vX7zA0cE2gI4kM6o"
    reset = "cd2x1k-0f3e8a5b7c9d1e2f4a6b8c0d2e4f6a8b"
    paths = [
        f"/privacy/withdraw/status/{status}/?lang=ru",
        f"/privacy/withdraw/status/{status}/answer/",
        f"/privacy/withdraw/confirm/{confirm.replace(':', '%3A')}/",
        f"/accounts/reset/MTIzNA/{reset}/",
        "/accounts/reset/MTIzNA/set-password/",
        "/api/v1/consent-status?email=someone%40example.kz",
        # A link no rule names (a new one, or one mangled on the way) still loses its token.
        f"/accounts/verify/{confirm}/",
        f"/privacy/withdraw/statuses/{status}",
        "/accounts/reset/sent/",
        "/static/css/portal.3f2a9c8e1b7d4a5c.css",
    ]
    context = _client_context(ssl.TLSVersion.TLSv1_3, tls_proxy["cert"])
    for path in paths:
        connection = http.client.HTTPSConnection("localhost", tls_proxy["https"], context=context, timeout=5)
        connection.request("GET", path)
        connection.getresponse().read()
        connection.close()
    plain = http.client.HTTPConnection("127.0.0.1", tls_proxy["http"], timeout=5)
    plain.request("GET", f"/privacy/withdraw/status/{status}/?email=someone%40example.kz")
    plain.getresponse().read()
    plain.close()

    def logged():
        lines = tls_proxy["access_log"].read_text().splitlines()
        return len([line for line in lines if " GET " in line]) >= len(paths) + 1 and lines

    lines = wait_for(logged, timeout=5, interval=0.05)
    text = "\n".join(lines)
    for secret in (status, confirm, reset, "MTIzNA", "someone", "example.kz", "lang=", "?", "127.0.0.1"):
        assert secret not in text, secret
    logged_paths = [line.split()[2] for line in lines if " GET " in line]
    assert logged_paths[-len(paths) - 1 :] == [
        "/privacy/withdraw/status/[redacted]/",
        "/privacy/withdraw/status/[redacted]/answer/",
        "/privacy/withdraw/confirm/[redacted]/",
        "/accounts/reset/[redacted]/[redacted]/",
        "/accounts/reset/[redacted]/[redacted]/",
        "/api/v1/consent-status",
        "/accounts/verify/[redacted]/",
        "/privacy/withdraw/statuses/[redacted]",
        "/accounts/reset/sent/",
        "/static/css/portal.3f2a9c8e1b7d4a5c.css",
        "/privacy/withdraw/status/[redacted]/",
    ]
