"""How DTMF digits leave: one SIP INFO at a time, each after the last one's answer."""

from types import SimpleNamespace

from siptest.ua.calls import CallSpec
from siptest.ua.pjsua.media import send_dtmf


class FakeError(Exception):
    pass


PJ = SimpleNamespace(
    CallSendDtmfParam=lambda: SimpleNamespace(method=None, digits=""),
    PJSUA_DTMF_METHOD_SIP_INFO="sip-info",
    Error=FakeError,
)


class FakeCall:
    def __init__(self, fail_at: int | None = None) -> None:
        self.events: list[str] = []
        self.fail_at = fail_at

    def sendDtmf(self, param):
        if len(self.events) == self.fail_at:
            raise FakeError
        self.events.append(f"info {param.digits} via {param.method}")

    def dialDtmf(self, digits):
        self.events.append(f"rfc4733 {digits}")


def answers(call: FakeCall, replies: list[bool]):
    def wait() -> bool:
        call.events.append("answered?")
        return replies.pop(0)

    return wait


def test_info_digits_go_one_per_request_each_after_an_answer():
    call = FakeCall()
    sent = send_dtmf(PJ, call, CallSpec(number="1", dtmf="12#", dtmf_method="info"),
                     answers(call, [True, True, True]))  # fmt: skip
    assert sent == "12#"
    assert call.events == [
        "info 1 via sip-info", "answered?",
        "info 2 via sip-info", "answered?",
        "info # via sip-info", "answered?",
    ]  # fmt: skip


def test_an_unanswered_info_stops_the_digits_after_it():
    call = FakeCall()
    spec = CallSpec(number="1", dtmf="123", dtmf_method="info")
    assert send_dtmf(PJ, call, spec, answers(call, [True, False])) == "12"
    assert [e for e in call.events if e.startswith("info")] == [
        "info 1 via sip-info", "info 2 via sip-info"
    ]  # fmt: skip


def test_a_digit_the_stack_refuses_is_not_counted_as_sent():
    call = FakeCall(fail_at=2)  # after "info 1" and "answered?"
    spec = CallSpec(number="1", dtmf="123", dtmf_method="info")
    assert send_dtmf(PJ, call, spec, answers(call, [True, True])) == "1"


def test_rfc4733_digits_go_at_once_without_waiting():
    call = FakeCall()
    spec = CallSpec(number="1", dtmf="123#", dtmf_method="rfc4733")
    assert send_dtmf(PJ, call, spec, answers(call, [])) == "123#"
    assert call.events == ["rfc4733 123#"]


def test_no_digits_sends_nothing():
    call = FakeCall()
    assert send_dtmf(PJ, call, CallSpec(number="1"), answers(call, [])) == ""
    assert call.events == []
