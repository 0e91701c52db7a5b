"""experiments.held_stops: a run's record is stored whole, the interrupt comes after it."""

from __future__ import annotations

import signal
import threading

import pytest

from experiments.held_stops import forced, stops_held


def test_ctrl_c_inside_is_raised_after_the_body() -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with stops_held():
            signal.raise_signal(signal.SIGINT)
            steps.append("went on")  # not interrupted here
    assert steps == ["went on"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "handler put back"


def test_a_second_ctrl_c_stops_at_once() -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with stops_held():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            steps.append("not reached")
    assert steps == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert forced() and not forced(), "said once: the caller stops storing"


def test_sigterm_goes_to_its_handler_after_the_body() -> None:
    heard = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: heard.append(signum))
    try:
        with stops_held():
            signal.raise_signal(signal.SIGTERM)
            assert heard == [], "held while the body runs"
        assert heard == [signal.SIGTERM], "delivered once, after"
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_nothing_held_without_a_signal_or_outside_the_main_thread() -> None:
    with stops_held():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    seen = []

    def body() -> None:
        with stops_held():  # signal handlers cannot be set here: a no-op
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def test_an_ignored_signal_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with stops_held():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
