"""The token bucket that paces bulk checks, driven with numbers for time."""

from __future__ import annotations

import threading

import pytest

from siptest.bulk.pacing import Pacer, TokenBucket
from siptest.bulk.rate import busiest_window


def test_the_first_start_is_at_once_and_the_next_waits_one_interval():
    bucket = TokenBucket(rate=5, now=100.0)
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == pytest.approx(0.2)


def test_callers_arriving_together_are_spaced_one_interval_apart():
    bucket = TokenBucket(rate=5, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_time_passing_refills_the_bucket():
    bucket = TokenBucket(rate=5, now=0.0)
    bucket.reserve(0.0)
    assert bucket.reserve(0.2) == pytest.approx(0.0)


def test_a_long_pause_does_not_save_up_a_burst():
    bucket = TokenBucket(rate=5, burst=1, now=0.0)
    assert bucket.reserve(60.0) == 0.0
    assert bucket.reserve(60.0) == pytest.approx(0.2)


def test_a_burst_allows_that_many_at_once_and_no_more():
    bucket = TokenBucket(rate=2, burst=3, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(4)] == pytest.approx([0, 0, 0, 0.5])


@pytest.mark.parametrize("rate", [0, -1])
def test_a_rate_that_is_not_positive_is_refused(rate):
    with pytest.raises(ValueError):
        TokenBucket(rate=rate)


def test_each_registrar_has_a_bucket_of_its_own():
    now = [10.0]
    pacer = Pacer(rate=5, clock=lambda: now[0])
    assert pacer.delay("a.example") == 0.0
    assert pacer.delay("b.example") == 0.0
    assert pacer.delay("a.example") == pytest.approx(0.2)


def test_a_stopped_pacer_releases_a_waiting_caller_with_false():
    stop = threading.Event()
    pacer = Pacer(rate=0.01, stop=stop)  # the second start would be due in 100 s
    assert pacer.wait("a.example") is True
    timer = threading.Timer(0.05, stop.set)
    timer.start()
    assert pacer.wait("a.example") is False
    timer.join()


def test_the_busiest_window_counts_starts_closer_than_the_window():
    starts = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
    assert busiest_window(starts, 1.0) == 5


def test_the_busiest_window_finds_a_burst_among_paced_starts():
    starts = [0.0, 1.0, 2.0, 2.01, 2.02, 2.03, 3.0]
    assert busiest_window(starts, 1.0) == 4


def test_workers_reserving_at_the_same_instant_each_get_their_own_slot():
    # eight worker threads toward one registrar with the clock standing still: no two
    # starts share a slot, whatever the threads' interleaving
    pacer = Pacer(rate=5, clock=lambda: 50.0)
    barrier = threading.Barrier(8)
    delays: list[float] = []

    def worker() -> None:
        barrier.wait(timeout=5)
        delays.append(pacer.delay("pbx.example"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(delays) == pytest.approx([0.2 * n for n in range(8)])


def test_one_registrar_spelled_two_ways_shares_one_bucket():
    from siptest.bulk.accounts import BulkAccount

    pacer = Pacer(rate=5, clock=lambda: 0.0)
    first = BulkAccount(2, "1001", "[::1]", password_env="PW")
    second = BulkAccount(3, "1002", "[0:0::1]:5070", password_env="PW")
    assert pacer.delay(first.registrar) == 0.0
    assert pacer.delay(second.registrar) == pytest.approx(0.2)


def test_the_default_rate_is_five_a_second_per_registrar():
    from siptest.cli.bulk import DEFAULT_RATE

    pacer = Pacer(rate=DEFAULT_RATE, clock=lambda: 0.0)
    assert [pacer.delay("pbx.example") for _ in range(6)] == pytest.approx(
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    )
