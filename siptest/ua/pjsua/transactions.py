"""Ending one of siptest's own client transactions before its timer does.

pjsip keeps an INVITE nobody answered until Timer B, retransmitting it, and pjsua
keeps the call (one of its 4) as long. When siptest already knows no answer can
come (ICMP said nothing listens there, or a firewall rejected it: ua.probe), it
ends the transaction itself, so the call ends now and its place is free for the
next one. pjsip_tsx_terminate is pjsip's own way to do it; the transaction is
found by its RFC 3261 key, "c$" and the branch of the request's Via (the INVITE
method is left out of the key: pjsip/src/pjsip/sip_transaction.c, pjproject 2.15).
"""

from __future__ import annotations

import ctypes
from typing import Any

from siptest.ua.pjsua.unregister import PjStr, pj_str


def end_client_invite(lib: Any, branch: str, code: int) -> bool:
    """Terminate the INVITE client transaction whose Via branch is `branch`, as if
    it had ended with `code`; False when pjsip holds no such transaction (it ended).

    Called between `libHandleEvents` calls, on the thread that runs the stack (the
    only one: no pjsip worker threads), so the transaction cannot go away meanwhile.
    """
    find = lib.pjsip_tsx_layer_find_tsx
    find.argtypes = [ctypes.POINTER(PjStr), ctypes.c_int]
    find.restype = ctypes.c_void_p
    key = pj_str(f"c${branch}".encode())
    tsx = find(ctypes.byref(key), 0)  # without its lock: see above
    if not tsx:
        return False
    terminate = lib.pjsip_tsx_terminate
    terminate.argtypes = [ctypes.c_void_p, ctypes.c_int]
    terminate.restype = ctypes.c_int
    return int(terminate(tsx, code)) == 0
