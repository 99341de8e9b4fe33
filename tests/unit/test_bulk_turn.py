"""A bulk child's turn (siptest.bulk.turn): READY, then nothing is sent before GO."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from siptest.bulk import turn
from siptest.bulk.turn import GO, READY, TURN_ENV, Turn, take_turn


def child_end(monkeypatch) -> socket.socket:
    """The parent's end; the other one is handed to take_turn() as bulk hands it."""
    ours, theirs = socket.socketpair()
    monkeypatch.setenv(TURN_ENV, str(os.dup(theirs.fileno())))
    theirs.close()
    return ours


def test_a_check_not_started_by_bulk_goes_at_once(monkeypatch):
    monkeypatch.delenv(TURN_ENV, raising=False)
    assert take_turn() is True


def test_the_child_says_ready_and_goes_on_go_once_per_process(monkeypatch):
    ours = child_end(monkeypatch)
    ours.settimeout(10)
    answered = threading.Thread(target=lambda: ours.recv(1) == READY and ours.sendall(GO))
    answered.start()
    assert take_turn() is True
    answered.join(10)
    ours.close()
    # a check that moves on to another DNS target goes on with the same turn
    assert TURN_ENV not in os.environ
    assert take_turn() is True


@pytest.mark.parametrize("answer", [b"", b"x"])
def test_no_go_means_nothing_is_sent(monkeypatch, answer):
    # the parent stopped (closed its end) or said something else: no REGISTER
    ours = child_end(monkeypatch)
    if answer:
        ours.sendall(answer)
    else:
        ours.close()
    assert take_turn() is False
    ours.close()


@pytest.mark.parametrize("value", ["not-a-number", "987654"])
def test_a_variable_bulk_did_not_set_is_no_turn(monkeypatch, value):
    monkeypatch.setenv(TURN_ENV, value)
    assert take_turn() is False


def test_the_parent_gives_go_only_after_ready_and_the_pacer(monkeypatch):
    giver = Turn()
    env, (fd,) = giver.child_env({"KEPT": "1"})
    assert env == {"KEPT": "1", TURN_ENV: str(fd)}
    theirs = socket.socket(fileno=os.dup(fd))
    order: list[str] = []

    def pacer() -> bool:
        order.append("pacer")
        return True

    theirs.sendall(READY)
    assert giver.give(pacer) is True
    assert theirs.recv(1) == GO and giver.given and order == ["pacer"]
    giver.close()
    theirs.close()


def test_a_stopped_run_gives_no_go(monkeypatch):
    giver = Turn()
    _, (fd,) = giver.child_env({})
    theirs = socket.socket(fileno=os.dup(fd))
    theirs.sendall(READY)
    assert giver.give(lambda: False) is False
    assert (giver.asked, giver.given) == (True, False)
    giver.close()
    theirs.settimeout(5)
    assert theirs.recv(1) == b""  # closed: the child's wait ends, and it sends nothing
    theirs.close()


def test_a_child_that_never_says_ready_is_given_up_on(monkeypatch):
    monkeypatch.setattr(turn, "START_S", 0.2)
    giver = Turn()
    _, (fd,) = giver.child_env({})
    theirs = socket.socket(fileno=os.dup(fd))
    assert giver.give(lambda: True) is False
    assert giver.never_ready and not giver.given
    giver.close()
    theirs.close()
