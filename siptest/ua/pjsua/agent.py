"""The user agent, backed by pjsua2 (this package is the only one that imports it).

How pjsua2 is driven here, and why (measured with this wheel; the project's shared
lab notes hold the numbers):

* Single-threaded: no SIP worker threads, no media threads, no sound card.
  Everything happens inside `libHandleEvents()` called from our own bounded
  poll loops, so callbacks run on this thread and nothing runs behind our back.
* pjsua2 is a debug build: misuse aborts the process instead of raising. The
  account and call limits are checked here before pjsua2 would abort.
* Every SIP message is read byte for byte from the stack itself by a tap
  (`tap.py`: a pjsip module and the dropped-data hook), never from its log,
  and kept as events (`siptest.ua.events`). The tap lets `CredentialGuard`
  veto credential retries and refuses INVITEs the test did not ask for before
  pjsua allocates anything for them. Nothing pjsua2 logs reaches the console.
* The transaction timeout (Timer B/F, 32 s in pjsip) is set from `--timeout`
  through the exported `pjsip_tsx_set_timers`.
"""

from __future__ import annotations

from siptest.ua.base import AgentConfig
from siptest.ua.pjsua.calls import Calling, DialledCall
from siptest.ua.pjsua.config import system_ca_bundle
from siptest.ua.pjsua.errors import at_stack_boundary
from siptest.ua.pjsua.registering import LOST_UNREGISTER_S, Registering


class PjsuaAgent(Registering, Calling):
    """A SIP user agent on pjsua2, driven from the calling thread: the stack
    (`core.py`) with registration (`registering.py`) and calls (`calls.py`) on top."""

    @at_stack_boundary("close")
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ep is None:
            return
        self._end_live_calls()
        self._reap_incoming()
        while self._registered:
            self.unregister()
        for spec, _ in list(self._maybe_registered.values()):
            self.unregister(spec)
        self._destroy()


__all__ = ["LOST_UNREGISTER_S", "AgentConfig", "DialledCall", "PjsuaAgent", "system_ca_bundle"]
