"""The reference service speaks the contract on its own (standard library only), from the command line too."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

from apps.connectors.reference_service import ReferenceService, demo_record, sign, signature_valid
from apps.core.signing import webhook_signature, webhook_signature_valid
from tests.support.servers import free_port, wait_for

SECRET = "cssec_reference-service-test-secret-000"


def call_body(action="export", email="dana@example.kz", **extra) -> bytes:
    return json.dumps(
        {
            "call": extra.pop("call", "11111111-2222-3333-4444-555555555555"),
            "action": action,
            "person": {"email": email},
            "changes": extra.pop("changes", []),
            "callback_url": "http://127.0.0.1:1/connectors/callback/x/",
        }
    ).encode()


def post(url: str, body: bytes, signature: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Alilo-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_its_signature_is_the_portals():
    body = b'{"call": "x"}'
    assert sign(SECRET, body, 1798563000) == webhook_signature(secret=SECRET, timestamp=1798563000, body=body)
    header = sign(SECRET, body)
    assert signature_valid(SECRET, header, body)
    assert webhook_signature_valid(secret=SECRET, header=header, body=body, tolerance_seconds=300)
    assert not signature_valid(SECRET, sign(SECRET, body, int(time.time()) - 3600), body)
    assert not webhook_signature_valid(secret=SECRET, header=header, body=body + b" ", tolerance_seconds=300)


def test_it_applies_each_action_to_its_store_once_per_call_id():
    service = ReferenceService(secret=SECRET)
    status, answer = service.handle(call_body(), sign(SECRET, call_body()))
    assert status == 200 and answer["data"] == demo_record("dana@example.kz")
    changes = [{"field": "phone", "value": "+77019998877"}]
    body = call_body("correct", call="c-1", changes=changes)
    assert service.handle(body, sign(SECRET, body))[1]["data"] == {"corrected": ["phone"]}
    assert service.store["dana@example.kz"]["profile"]["phone"] == "+77019998877"
    body = call_body("destroy", call="d-1")
    first = service.handle(body, sign(SECRET, body))
    assert first[1]["data"]["kept"][0]["data"] == "orders"
    assert service.handle(body, sign(SECRET, body)) == first  # the same call again: the same answer
    assert service.store["dana@example.kz"]["locations"] == []
    assert service.handle(body, "t=1,v1=bad")[0] == 401


def test_it_runs_from_the_command_line():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "apps.connectors.reference_service", "--port", str(port), "--secret", SECRET],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/alilo/calls"

        def answers() -> bool:
            try:
                return post(url, b"{}", "")[0] == 401
            except OSError:
                return False

        wait_for(answers, timeout=20, message="the reference service did not start")
        status, answer = post(url, call_body(), sign(SECRET, call_body()))
        assert status == 200 and answer["status"] == "done"
        assert answer["data"]["profile"]["email"] == "dana@example.kz"
    finally:
        process.terminate()
        process.wait(timeout=10)
