"""Wall-clock limits inside the process: SIGALRM timers that raise through the engines.

:func:`time_limit` bounds one engine's pure-Python work (SymPy) with :class:`TimeLimit`;
:func:`claim_limit` is a whole claim's limit (``--no-isolation``).  They sit below the
engines, which re-raise :class:`TimeLimit` and re-arm a swallowed expiry with
:func:`refire`; the router (:mod:`derive.decide`) and the runner set them.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from derive.faults import Interrupt


class TimeLimit(Interrupt):
    """Raised inside an engine when its time budget is spent."""


class ClaimTimeLimit(BaseException):
    """The whole claim's wall-clock limit expired in-process (``--no-isolation``).

    A ``BaseException``, so no strategy's ``except Exception`` and no engine's fault
    recorder can swallow it: it unwinds to the runner, which reports the claim as stopped.
    """


@contextmanager
def alarm(seconds: float, handler) -> Iterator[None]:
    """Run the block under a SIGALRM timer of ``seconds`` whose expiry calls ``handler``.

    Nests: when an enclosing timer is due first the block runs under it unchanged; otherwise
    the enclosing timer is paused and re-armed with what is left afterwards, and if it
    expired meanwhile its handler is called (raising its exception).  Outside the main
    thread, or without ``setitimer``, the block runs unlimited (the worker process is the
    backstop there).
    """
    if not (seconds and seconds > 0 and hasattr(signal, "setitimer")) or \
            threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_handler = signal.getsignal(signal.SIGALRM)
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield  # the enclosing limit comes first: let it fire as usual
        return
    start = time.monotonic()
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            left = outer_left - (time.monotonic() - start)
            if left <= 0 and callable(outer_handler):
                outer_handler(signal.SIGALRM, None)  # raises the enclosing limit's exception
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt pure-Python work (SymPy) after ``seconds`` with :class:`TimeLimit`.

    Composes with an enclosing limit (the claim's, see :func:`claim_limit`): the nearer
    deadline fires.  The runner's worker process is the hard backstop where this fails.
    """
    with alarm(seconds, _raise_limit):
        yield


@contextmanager
def claim_limit(seconds: float) -> Iterator[None]:
    """The claim's wall-clock limit in-process: :class:`ClaimTimeLimit` after ``seconds``."""
    with alarm(seconds, _raise_claim_limit):
        yield


REFIRE_S = 0.05  # an expiry swallowed by a callback is raised again this much later


def refire() -> None:
    """Re-arm SIGALRM shortly before raising from its handler.

    Python swallows an exception raised while a weakref callback or ``__del__`` runs (it
    only reports it as unraisable), so an expiry that lands there would be lost and the
    work would run on to the next, outer limit.  The timer is disarmed by whoever set it
    once the exception has left their block.
    """
    signal.setitimer(signal.ITIMER_REAL, REFIRE_S)


def _raise_limit(signum, frame):  # noqa: ARG001
    refire()
    raise TimeLimit()


def _raise_claim_limit(signum, frame):  # noqa: ARG001
    refire()
    raise ClaimTimeLimit()
