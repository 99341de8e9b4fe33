"""The live status line, from event sequences (siptest/report/progress.py), and the
terminal writer that shows it (siptest/report/terminal.py)."""

from __future__ import annotations

import io

import pytest

from siptest.report.progress import Status, advance, printable, status_line, with_step
from siptest.report.terminal import LiveProgress, live_progress, live_progress_wanted
from siptest.sipmessage import parse_message
from siptest.ua.capture import Capture
from siptest.ua.events import (
    CallStateChanged,
    RegistrationStateChanged,
    RequestSent,
    ResponseReceived,
    StackSaid,
)

AOR = "sip:1001@127.0.0.1:5070"


def request(method: str, at: float, uri: str = "sip:127.0.0.1:5070", **headers: str) -> RequestSent:
    to = headers.pop("to", f"<{AOR}>")
    lines = [f"{method} {uri} SIP/2.0", f"To: {to}", f"CSeq: 1 {method}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    message = parse_message(data)
    assert message is not None
    return RequestSent(at, "UDP", "127.0.0.1:5060", "127.0.0.1:5070", data, message)


def response(
    method: str, code: int, at: float, reason: bytes = b"", stray: bool = False
) -> ResponseReceived:
    data = b"SIP/2.0 %d %s\r\nCSeq: 1 %s\r\n\r\n" % (code, reason, method.encode())
    message = parse_message(data)
    assert message is not None
    return ResponseReceived(
        at, "UDP", "127.0.0.1:5060", "127.0.0.1:5070", data, message, stray=stray
    )


def fold(*events: object, start: Status | None = None) -> Status:
    status = start or Status()
    for event in events:
        status = advance(status, event)
    return status


def line(status: Status, now: float, width: int = 80) -> str:
    return status_line(status, now, width)


REGISTERED = (
    request("REGISTER", 0.01),
    response("REGISTER", 401, 0.02, b"Unauthorized"),
    request("REGISTER", 0.03, Authorization="Digest x"),
    response("REGISTER", 200, 0.04, b"OK"),
)


def test_before_any_event_it_says_starting():
    assert line(Status(), 0.0) == "starting"


def test_a_register_in_flight_counts_the_seconds_it_waits():
    status = fold(request("REGISTER", 1.0))
    assert line(status, 4.7) == "registering 1001@127.0.0.1:5070 - 3 s"


def test_a_challenge_is_shown_then_the_register_with_credentials():
    challenged = fold(*REGISTERED[:2])
    assert line(challenged, 0.5) == "challenged (401 Unauthorized)"
    answering = advance(challenged, REGISTERED[2])
    assert line(answering, 2.2) == "registering with credentials - 2 s"


def test_a_registration_ends_registered():
    assert line(fold(*REGISTERED), 1.0) == "registered"


def test_a_refusal_shows_the_servers_answer():
    status = fold(*REGISTERED[:3], response("REGISTER", 403, 0.1, b"Forbidden"))
    assert line(status, 1.0) == "registration refused (403 Forbidden)"


def test_pjsuas_word_ends_a_registration_the_wire_did_not_settle():
    status = fold(
        request("REGISTER", 0.0),
        RegistrationStateChanged(5.0, AOR, 408, "Request Timeout", 0, False),
    )
    assert line(status, 5.1) == "registration failed (408 Request Timeout)"
    answered = fold(
        request("REGISTER", 0.0),
        RegistrationStateChanged(0.1, AOR, 404, "Not Found", 0, True),
    )
    assert line(answered, 0.2) == "registration refused (404 Not Found)"


def test_a_call_goes_dialling_ringing_answered_hanging_up_with_running_counts():
    dialled = fold(*REGISTERED, request("INVITE", 1.0, "sip:7000@127.0.0.1:5070"))
    assert line(dialled, 1.4) == "dialling 7000 - 0 s"
    ringing = fold(
        response("INVITE", 100, 1.1, b"Trying"),
        response("INVITE", 180, 1.2, b"Ringing"),
        start=dialled,
    )
    assert line(ringing, 4.3) == "ringing 7000 - 3 s"
    # a second 180 does not restart the count
    assert line(advance(ringing, response("INVITE", 180, 3.0, b"Ringing")), 4.3) == (
        "ringing 7000 - 3 s"
    )
    answered = fold(
        response("INVITE", 200, 5.0, b"OK"),
        CallStateChanged(5.0, "c", "CONFIRMED", 200, "OK"),
        start=ringing,
    )
    assert line(answered, 7.9) == "7000 answered, measuring audio - 2 s"
    hanging_up = advance(
        answered, request("BYE", 8.0, "sip:7000@127.0.0.1:5090", to="<sip:7000@x>;tag=a")
    )
    assert line(hanging_up, 8.0) == "hanging up (BYE)"


def test_the_un_register_is_told_from_a_register():
    removing = fold(*REGISTERED, request("REGISTER", 9.0, Expires="0"))
    assert line(removing, 9.0) == "un-registering"
    challenged = advance(removing, response("REGISTER", 401, 9.1, b"Unauthorized"))
    assert line(challenged, 9.1) == "un-registering"
    done = advance(challenged, response("REGISTER", 200, 9.2, b"OK"))
    assert line(done, 9.2) == "un-registered"
    by_contact = fold(*REGISTERED, request("REGISTER", 9.0, Contact="<sip:1001@h:5060>;expires=0"))
    assert line(by_contact, 9.0) == "un-registering"


def test_a_cancelled_call_ends_with_the_487():
    status = fold(
        request("INVITE", 1.0, "sip:7001@h"),
        response("INVITE", 180, 1.1, b"Ringing"),
        request("CANCEL", 4.0, "sip:7001@h"),
        response("INVITE", 487, 4.1, b"Request Terminated"),
    )
    assert line(status, 4.2) == "call ended (487 Request Terminated)"


# -- hostile sequences ----------------------------------------------------------------


def test_a_late_180_after_the_answer_does_not_go_back_to_ringing():
    status = fold(
        request("INVITE", 1.0, "sip:7000@h"),
        response("INVITE", 200, 2.0, b"OK"),
        response("INVITE", 180, 2.5, b"Ringing"),
        CallStateChanged(2.6, "c", "EARLY", 180, "Ringing"),
    )
    assert line(status, 3.0) == "7000 answered, measuring audio - 1 s"


def test_ringing_before_any_invite_was_sent_is_ignored():
    status = fold(*REGISTERED, response("INVITE", 180, 1.0, b"Ringing"))
    assert line(status, 2.0) == "registered"


def test_a_late_register_answer_after_the_call_began_changes_nothing():
    status = fold(
        *REGISTERED, request("INVITE", 1.0, "sip:7000@h"), response("REGISTER", 200, 1.5, b"OK")
    )
    assert line(status, 2.0) == "dialling 7000 - 1 s"


def test_a_stray_response_is_not_the_servers_answer():
    status = fold(request("REGISTER", 0.0), response("REGISTER", 200, 0.1, b"OK", stray=True))
    assert line(status, 0.2) == "registering 1001@127.0.0.1:5070 - 0 s"


@pytest.mark.parametrize("state", ["WEIRD", "", "NULL", "CONNECTING", "\x1b[2J"])
def test_an_unknown_call_state_changes_nothing(state):
    dialled = fold(request("INVITE", 1.0, "sip:7000@h"))
    assert advance(dialled, CallStateChanged(1.5, "c", state, 0, "")) == dialled


def test_events_the_line_does_not_show_change_nothing():
    status = fold(*REGISTERED)
    assert fold(StackSaid(1.0, "error"), object(), None, start=status) == status


def test_a_non_utf8_reason_phrase_is_shown_escaped():
    status = fold(request("REGISTER", 0.0), response("REGISTER", 403, 0.1, b"F\xfcr \xff nobody"))
    shown = line(status, 0.2)
    assert shown == "registration refused (403 F\\xfcr \\xff nobody)"
    shown.encode("utf-8")  # always printable, always UTF-8


def test_terminal_control_sequences_in_a_reason_phrase_never_reach_the_terminal():
    # ESC [2J would clear the screen; U+009B is a C1 CSI; U+202E reverses the text.
    reason = "\x1b[2J gone \u009b31m \u202eevil".encode()
    status = fold(request("REGISTER", 0.0), response("REGISTER", 403, 0.1, reason))
    shown = line(status, 0.2, width=200)
    assert "\x1b" not in shown and "\u009b" not in shown and "\u202e" not in shown
    assert "\\x1b[2J gone \\x9b31m \\u202eevil" in shown


def test_a_harmless_accented_reason_phrase_is_shown_as_it_is():
    status = fold(request("REGISTER", 0.0), response("REGISTER", 403, 0.1, "Für niemand".encode()))
    assert line(status, 0.2) == "registration refused (403 Für niemand)"


def test_stack_words_in_a_call_state_are_escaped_too():
    status = fold(
        request("INVITE", 1.0, "sip:7000@h"),
        CallStateChanged(2.0, "c", "DISCONNECTED", 503, "down\r\n\x07"),
    )
    assert line(status, 2.0) == "call ended (503 down\\x0d\\x0a\\x07)"


def test_the_line_never_reaches_the_last_column():
    status = fold(request("REGISTER", 0.0), response("REGISTER", 403, 0.1, b"x" * 300))
    shown = line(status, 0.2, width=60)
    assert len(shown) == 59 and shown.endswith("...")
    assert len(line(status, 0.2, width=3)) == 19  # never narrower than that


def test_a_scenario_step_labels_the_line_and_forgets_the_last_steps_phase():
    status = with_step(fold(*REGISTERED), "CI smoke > step 2/4: call 7000 from 1001")
    assert line(status, 0.0, width=120) == "CI smoke > step 2/4: call 7000 from 1001: starting"
    dialled = advance(status, request("INVITE", 1.0, "sip:7000@h"))
    assert line(dialled, 2.0, width=120).endswith(": dialling 7000 - 1 s")


def test_printable_leaves_printable_text_alone():
    assert printable("OK über 東京") == "OK über 東京"


# -- the terminal writer --------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_writer_rewrites_the_line_only_when_it_changes_and_erases_it_at_the_end():
    stream = Tty()
    progress = LiveProgress(stream, width=80)
    progress([REGISTERED[0]], 0.1)
    progress([], 0.5)  # same second: nothing written
    progress([], 1.2)
    progress(list(REGISTERED[1:]), 1.3)
    progress.clear()
    assert stream.getvalue() == (
        "\r\x1b[Kregistering 1001@127.0.0.1:5070 - 0 s"
        "\r\x1b[Kregistering 1001@127.0.0.1:5070 - 1 s"
        "\r\x1b[Kregistered"
        "\r\x1b[K"
    )


def test_progress_is_only_for_a_terminal_and_never_for_machine_output(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    assert live_progress_wanted(Tty(), machine_output=False)
    assert not live_progress_wanted(Tty(), machine_output=True)
    assert not live_progress_wanted(io.StringIO(), machine_output=False)
    monkeypatch.setenv("TERM", "dumb")
    assert not live_progress_wanted(Tty(), machine_output=False)


def test_piped_the_context_gives_no_progress_and_writes_nothing():
    stream = io.StringIO()
    with live_progress(False, stream) as progress:
        assert progress is None
    assert stream.getvalue() == ""


def test_the_line_is_erased_even_when_the_run_fails(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    stream = Tty()
    with pytest.raises(RuntimeError), live_progress(False, stream) as progress:
        assert progress is not None
        progress([REGISTERED[0]], 0.0)
        raise RuntimeError
    assert stream.getvalue().endswith("\r\x1b[K")


def test_the_capture_tells_its_watcher_only_what_is_new():
    told: list[tuple[int, float]] = []
    capture = Capture(clock=lambda: 2.5)
    capture.tick()  # nobody watches: nothing happens
    capture.watcher = lambda events, now: told.append((len(events), now))
    capture.events.extend(REGISTERED)
    capture.tick()
    capture.tick()
    assert told == [(4, 2.5), (0, 2.5)]


def test_a_watcher_that_raises_is_dropped_and_the_test_goes_on():
    def broken(events, now):
        raise ValueError("bug")

    capture = Capture(clock=lambda: 0.0)
    capture.watcher = broken
    capture.tick()
    assert capture.watcher is None
