"""callbacks/sender.py and callbacks/targets.py against a real loopback HTTP receiver:
the signed request, pinning to the checked address, refusals, redirects not followed."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbacks.sender import Sender
from callbacks.signing import verify
from callbacks.targets import Callback, TargetRefused, pin
from qualitygate.callback_policy import parse_network
from tests.support.receiver import Answer, Receiver
from tests.support.redis_server import make_tls_files

SECRET = "callback-secret-0123456789"
BODY = json.dumps({"id": "post-1", "status": "graded", "score": 0.5}).encode()
LOOPBACK = [parse_network("127.0.0.1/32")]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def sender(resolve=None) -> Sender:
    if resolve is None:
        return Sender(timeout_s=5, allow_private=LOOPBACK)
    return Sender(timeout_s=5, allow_private=LOOPBACK, resolve=resolve)


def test_a_delivery_is_signed_and_carries_its_ids(receiver: Receiver) -> None:
    outcome = sender().send(Callback("cms", receiver.url, SECRET), BODY, "1-0", 3)
    assert outcome.delivered and outcome.status == 200 and outcome.error == ""
    [request] = receiver.received()
    assert request.path == "/hook" and request.body == BODY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Qualitygate-Delivery"] == "1-0"
    assert request.headers["X-Qualitygate-Attempt"] == "3"
    assert verify(SECRET, request.body, request.headers["X-Qualitygate-Signature"])
    assert SECRET not in json.dumps(request.headers)


def test_a_name_is_pinned_to_its_checked_address(receiver: Receiver) -> None:
    # "cms.test" resolves (by this resolver) to the allow-listed loopback address: the
    # request goes to that address, with the name as the Host header.
    seen: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        seen.append(host)
        return ["127.0.0.1"]

    url = f"http://cms.test:{receiver.port}/hook?tenant=a"
    outcome = sender(resolve).send(Callback("cms", url, SECRET), BODY, "1-0", 1)
    assert outcome.delivered and seen == ["cms.test"]
    [request] = receiver.received()
    assert request.headers["Host"] == f"cms.test:{receiver.port}"
    assert request.path == "/hook?tenant=a"


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["10.0.0.5"], ["93.184.216.34", "10.0.0.5"], ["::1"], ["fd00::1"]],
)
def test_a_name_resolving_to_a_refused_address_is_not_contacted(answers: list[str]) -> None:
    # No allow_private here: loopback, 10.x and ULA are all refused; one bad address among
    # good ones is enough to refuse the name.
    with pytest.raises(TargetRefused, match="allow_private"):
        pin("https://cms.example.com/hook", [], lambda host, port: answers)


def test_localhost_really_resolves_to_loopback_and_is_refused() -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        pin("https://localhost/hook", [parse_network("10.0.0.0/8")], _system)


def _system(host: str, port: int) -> list[str]:
    from callbacks.targets import system_resolver

    return system_resolver(host, port)


def test_pinning_keeps_the_name_for_tls() -> None:
    pinned = pin("https://cms.example.com/a/b?x=1", [], lambda host, port: ["93.184.216.34"])
    assert pinned.url == "https://93.184.216.34:443/a/b?x=1"
    assert pinned.host_header == "cms.example.com" and pinned.server_name == "cms.example.com"
    v6 = pin("https://cms.example.com:8443/", [], lambda host, port: ["2606:4700::1"])
    assert v6.url == "https://[2606:4700::1]:8443/" and v6.host_header == "cms.example.com:8443"


def test_a_refused_target_is_a_failed_attempt_not_an_exception() -> None:
    outcome = sender(lambda host, port: ["10.9.9.9"]).send(
        Callback("cms", "https://cms.example.com/hook", SECRET), BODY, "1-0", 1
    )
    assert not outcome.delivered and outcome.status is None
    assert outcome.error.startswith("TargetRefused") and "10.9.9.9" in outcome.error


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.respond = lambda request: (
        Answer(302, (("Location", f"http://127.0.0.1:{receiver.port}/elsewhere"),))
        if request.path == "/hook"
        else Answer(200)
    )
    outcome = sender().send(Callback("cms", receiver.url, SECRET), BODY, "1-0", 1)
    assert not outcome.delivered and outcome.status == 302
    assert "redirects are not followed" in outcome.error
    assert [r.path for r in receiver.received()] == ["/hook"]


def test_a_server_error_and_a_refused_connection_are_failures(receiver: Receiver) -> None:
    receiver.respond = lambda request: Answer(500)
    outcome = sender().send(Callback("cms", receiver.url, SECRET), BODY, "1-0", 1)
    assert not outcome.delivered and outcome.error == "HTTP 500"
    receiver.stop()
    token_url = f"{receiver.url}?token=cms-token-value"
    down = sender().send(Callback("cms", token_url, SECRET), BODY, "1-0", 2)
    assert not down.delivered and down.status is None and down.error.startswith("ConnectError")
    assert "cms-token-value" not in down.error and SECRET not in down.error


def test_a_receiver_slower_than_the_timeout_is_a_failure(receiver: Receiver) -> None:
    receiver.respond = lambda request: Answer(200, delay_s=1.0)
    quick = Sender(timeout_s=0.2, allow_private=LOOPBACK)
    outcome = quick.send(Callback("cms", receiver.url, SECRET), BODY, "1-0", 1)
    assert not outcome.delivered and "Timeout" in outcome.error


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[Receiver]:
    server = Receiver(tls=make_tls_files(tmp_path)).start()
    yield server
    server.stop()


def test_https_to_a_pinned_address_still_checks_the_certificate_for_the_name(
    tls_receiver: Receiver,
) -> None:
    # The certificate is for localhost and 127.0.0.1 only. Pinned to 127.0.0.1, a request
    # for "localhost" verifies (SNI and the check use the name); one for a name the
    # certificate does not carry fails, though it reaches the same address.
    ca = ssl.create_default_context(cafile=str(tls_receiver.tls["ca"]))
    loopback = Sender(5, LOOPBACK, resolve=lambda host, port: ["127.0.0.1"], verify=ca)
    good = f"https://localhost:{tls_receiver.port}/hook"
    outcome = loopback.send(Callback("local", good, SECRET), BODY, "1-0", 1)
    assert outcome.delivered, outcome.error
    assert tls_receiver.received()[0].headers["Host"] == f"localhost:{tls_receiver.port}"
    wrong = f"https://cms.example.com:{tls_receiver.port}/hook"
    refused = loopback.send(Callback("other", wrong, SECRET), BODY, "1-0", 1)
    assert not refused.delivered and "ConnectError" in refused.error
    assert "certificate" in refused.error.lower()
    assert len(tls_receiver.received()) == 1


def test_the_answer_body_is_never_read(receiver: Receiver) -> None:
    # A receiver announcing a gigabyte it never sends: reading the body would wait for the
    # read timeout and fail; the status alone settles the attempt.
    receiver.respond = lambda request: Answer(200, (("Content-Length", "1000000000"),))
    outcome = Sender(timeout_s=3, allow_private=LOOPBACK).send(
        Callback("cms", receiver.url, SECRET), BODY, "1-0", 1
    )
    assert outcome.delivered and outcome.status == 200, outcome.error
