from apps.core.http import client_ip


def test_client_ip_ignores_forwarded_header_without_trusted_proxies(rf, settings):
    settings.TRUSTED_PROXIES = 0
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="10.0.0.9")
    assert client_ip(request) == "10.0.0.9"
    settings.TRUSTED_PROXIES = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4", REMOTE_ADDR="10.0.0.9")
    assert client_ip(request) == "1.2.3.4"


def test_client_ip_takes_the_hop_the_last_trusted_proxy_saw(rf, settings):
    settings.TRUSTED_PROXIES = 2
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4, 10.0.0.2", REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == "1.2.3.4"


def test_client_ip_falls_back_to_the_socket_when_fewer_hops_than_proxies(rf, settings):
    settings.TRUSTED_PROXIES = 2
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="10.0.0.9")
    assert client_ip(request) == "10.0.0.9"
    request = rf.get("/", REMOTE_ADDR="")
    assert client_ip(request) is None


def test_client_ip_ignores_a_forwarded_hop_that_is_no_address(rf, settings):
    settings.TRUSTED_PROXIES = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="nonsense", REMOTE_ADDR="10.0.0.9")
    assert client_ip(request) == "10.0.0.9"


def test_login_with_a_forged_forwarded_header_is_no_server_error(client, settings, db):
    settings.TRUSTED_PROXIES = 1
    response = client.post(
        "/accounts/login/", {"username": "a@example.kz", "password": "x"}, HTTP_X_FORWARDED_FOR="nonsense"
    )
    assert response.status_code < 500
