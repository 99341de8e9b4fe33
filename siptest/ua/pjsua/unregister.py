"""An un-REGISTER for our own contact when pjsua has none left to send.

pjsua destroys an account's registration session after any failure
(`regc_cb` in pjsua_acc.c), so `setRegistration(False)` refuses to run
(PJ_EINVALIDOP) exactly when siptest needs it most: a REGISTER timed out, or
its 2xx was garbled or too large, and the server may hold a binding siptest
never heard of. This module builds a fresh pjsip registration client
(pjsip_regc, through ctypes on the wheel's exported functions) for the same
address of record, registrar and Contact, and sends the un-REGISTER
(`Contact: <ours>;expires=0`, never `*`). pjsip answers a challenge with the
account's credentials; the stack tap sees every message like any other.

Not done through an outbound proxy (pjsip wants a parsed Route set there): the
report then says the binding may remain.
"""

from __future__ import annotations

import ctypes
from typing import Any

from siptest.ua.base import AccountSpec, RegistrationCompleted, Response
from siptest.ua.pjsua.errors import StackFailure


class PjStr(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("slen", ctypes.c_ssize_t)]


def pj_str(value: bytes) -> PjStr:
    return PjStr(value, len(value))


class _CredInfo(ctypes.Structure):
    """pjsip_cred_info (pjsip/sip_auth.h, pjproject 2.15.1): a plain-text password."""

    _fields_ = [
        ("realm", PjStr),
        ("scheme", PjStr),
        ("username", PjStr),
        ("data_type", ctypes.c_int),
        ("data", PjStr),
        ("algorithm_type", ctypes.c_int),
        ("ext", ctypes.c_void_p * 7),
    ]


_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_PLAIN_PASSWORD = 0
"""PJSIP_CRED_DATA_PLAIN_PASSWD"""


class RawUnregister:
    """One un-REGISTER in flight on its own pjsip registration client."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self._regc = ctypes.c_void_p()
        self.done = False
        """pjsip reported the end of the transaction (an answer, or its timeout)."""
        self._callback = _CALLBACK(self._on_done)
        lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
        lib.pjsip_regc_create.argtypes = [
            ctypes.c_void_p,
            ctypes.c_void_p,
            _CALLBACK,
            ctypes.POINTER(ctypes.c_void_p),
        ]
        lib.pjsip_regc_init.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(PjStr),
            ctypes.POINTER(PjStr),
            ctypes.POINTER(PjStr),
            ctypes.c_int,
            ctypes.POINTER(PjStr),
            ctypes.c_uint32,
        ]
        lib.pjsip_regc_set_credentials.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.POINTER(_CredInfo),
        ]
        lib.pjsip_regc_unregister.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.pjsip_regc_send.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.pjsip_regc_destroy2.argtypes = [ctypes.c_void_p, ctypes.c_int]

    def _on_done(self, param: int | None) -> None:
        self.done = True

    def send(
        self, registrar: str, aor: str, contact: str, auth_user: str, password: str
    ) -> StackFailure | None:
        """Send the un-REGISTER; a failure of the stack to send it, or None."""
        lib = self._lib
        endpt = lib.pjsua_get_pjsip_endpt()
        status = lib.pjsip_regc_create(endpt, None, self._callback, ctypes.byref(self._regc))
        if status != 0:
            return StackFailure(status, "could not create a registration client")
        server, address, ours = (
            pj_str(registrar.encode()),
            pj_str(aor.encode()),
            pj_str(contact.encode()),
        )
        contacts = (PjStr * 1)(ours)
        status = lib.pjsip_regc_init(
            self._regc, ctypes.byref(server), ctypes.byref(address), ctypes.byref(address),
            1, contacts, 300,
        )  # fmt: skip
        if status != 0:
            return StackFailure(status, "could not set up the un-REGISTER")
        credentials = _CredInfo(
            realm=pj_str(b"*"),
            scheme=pj_str(b"digest"),
            username=pj_str(auth_user.encode()),
            data_type=_PLAIN_PASSWORD,
            data=pj_str(password.encode()),
        )
        status = lib.pjsip_regc_set_credentials(self._regc, 1, ctypes.byref(credentials))
        if status != 0:
            return StackFailure(status, "could not give the un-REGISTER its credentials")
        tdata = ctypes.c_void_p()
        status = lib.pjsip_regc_unregister(self._regc, ctypes.byref(tdata))
        if status == 0:
            status = lib.pjsip_regc_send(self._regc, tdata)
        if status != 0:
            self.done = True
            return StackFailure(status, "could not send the un-REGISTER")
        return None

    def close(self) -> None:
        """Free the client (forced: a transaction still open is abandoned)."""
        if self._regc.value:
            self._lib.pjsip_regc_destroy2(self._regc, 1)
            self._regc = ctypes.c_void_p()


def unsent_unregister(spec: AccountSpec, failure: StackFailure, at: float) -> RegistrationCompleted:
    """The un-REGISTER the stack refused to send: the binding may remain."""
    return RegistrationCompleted(
        response=Response(
            "REGISTER",
            503,
            "Not sent",
            "local",
            at,
            local_cause="transport",
            detail=f"siptest's SIP stack could not send the un-REGISTER: {failure.reason}",
        ),
        requests_sent=0,
        credentials_sent=False,
        credentials_rejected=False,
        expires_requested=spec.expires,
        expires_granted=None,
    )
