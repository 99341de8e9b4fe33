"""The exporter's HTTP server itself, on loopback: what a slow or idle client gets."""

from __future__ import annotations

import socket
import threading

import pytest

from siptest.exporter import server as exporter_server
from siptest.exporter.server import Exporter, ProbeServer


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(exporter_server, "IDLE_S", 0.5)
    running = ProbeServer(("127.0.0.1", 0), Exporter({}))
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield running
    running.shutdown()
    running.server_close()
    thread.join(timeout=10)


def connect(server: ProbeServer) -> socket.socket:
    client = socket.create_connection(server.server_address[:2], timeout=10)
    client.settimeout(10)
    return client


def test_a_client_that_connects_and_sends_nothing_is_dropped_not_waited_for(server, capsys):
    # One thread per connection: idle ones waited for forever would pile up threads.
    with connect(server) as client:
        assert client.recv(1024) == b""  # closed by the server (a timeout raises)
    assert "Traceback" not in capsys.readouterr().err


def test_a_client_that_stops_halfway_through_its_request_is_dropped(server):
    with connect(server) as client:
        client.sendall(b"GET /probe?module=m HTTP/1.1\r\nHost: x\r\n")
        assert client.recv(1024) == b""


def test_the_idle_limit_is_bounded_and_longer_than_a_slow_link_needs():
    assert 5 <= exporter_server.IDLE_S <= 60


def test_a_client_that_sends_its_request_gets_the_answer(server):
    with connect(server) as client:
        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 200 ")
    assert b"/probe?module=NAME&target=USER@HOST[:PORT]" in answer


@pytest.mark.parametrize(
    "query",
    [
        "pass%0Asiptest%20exporter:%20forged%20line=1",  # a line break in the name
        "auth_Canary-Pw-3a1f=1",  # a secret pasted as the name itself
        "Canary-Pw-3a1f_secret",
    ],
)
def test_a_password_like_parameter_name_is_never_copied_into_the_log(query, capsys):
    reply = Exporter({}).probe(query, None)
    assert reply.status == 400
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "forged" not in err and "Canary" not in err
    assert "passwords never go in a URL" in err


def test_a_password_like_parameter_is_named_to_the_client_that_sent_it():
    reply = Exporter({}).probe("module=m&target=1001@127.0.0.1&sip_pwd=x", None)
    assert reply.status == 400
    assert "'sip_pwd'" in reply.body.decode()
