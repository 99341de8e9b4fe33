"""A tap on the SIP stack: the exact bytes of every message pjsip sends, receives or drops.

Two hooks, both through ctypes on the wheel's own exported functions:

* a pjsip module (`pjsip_endpt_register_module`) at priority 5. pjsip hands a
  received message to the modules from the lowest priority number up, and an
  outgoing one from the highest down, after printing it; at 5 we see every
  received message before the transaction layer (16) and pjsua (32) act on it,
  and every outgoing one last, byte for byte as it goes to the socket. Returning
  an error from `on_tx_request` stops the send (the credential guard's veto);
  returning true from `on_rx_request` takes the request away from the stack
  (siptest answered it itself, statelessly).
* the transport manager's dropped-data callback (`pjsip_tpmgr_set_drop_data_cb`),
  which sees the bytes pjsip refused: unparsable, missing mandatory headers, or
  longer than its packet buffer.

The pjsip structures are read at fixed offsets. They were taken from the
wheel's own machine code (pjsua's message logger reads the same fields:
`logging_on_rx_msg`, `logging_on_tx_msg`) and hold for pjproject 2.15.1 on
x86-64 Linux only; `check_layout` refuses any other build, and every read is
checked against an invariant (the message buffer lies inside the packet
buffer), so a mismatch stops siptest instead of reading garbage.
"""

from __future__ import annotations

import ctypes
import platform
import socket
import struct
import sys
from typing import Any, Protocol

from siptest.errors import CannotRunError
from siptest.ua.capture import Tapped
from siptest.ua.events import PACKET_LIMIT, DropCause

SUPPORTED_VERSION = "2.15.1"
"""The pjproject release whose structure layout is written below."""

# pjsip_rx_data (pjsip/sip_transport.h), x86-64.
_RX_TRANSPORT = 0x8
"""tp_info.transport"""
_RX_PACKET = 0x140
"""pkt_info.packet[PJSIP_MAX_PKT_LEN]"""
_RX_PACKET_LEN = 0x10E8
"""pkt_info.len (pj_ssize_t): bytes the transport read into `packet`"""
_RX_SRC_NAME = 0x1110
"""pkt_info.src_name[PJ_INET6_ADDRSTRLEN]"""
_RX_SRC_PORT = 0x1140
_RX_MSG_BUF = 0x1148
"""msg_info.msg_buf: this message inside `packet` (a stream read may hold several)"""
_RX_MSG_LEN = 0x1150

# pjsip_tx_data
_TX_BUF_START = 0x198
_TX_BUF_CUR = 0x1A0
_TX_TRANSPORT = 0x4A8
"""tp_info.transport"""
_TX_DST_NAME = 0x4D0
_TX_DST_PORT = 0x500

# pjsip_transport
_TP_TYPE_NAME = 0x78
_TP_REMOTE_ADDR = 0x58
"""key.rem_addr (pj_sockaddr): the peer of a TCP/TLS connection; zero for UDP"""
_TP_LOCAL_ADDR = 0x94
"""local_addr (pj_sockaddr): the bound socket (0.0.0.0 for a wildcard listener)"""
_TP_LOCAL_NAME = 0xB0
"""local_name (pjsip_host_port: pj_str_t host, int port at +0x10): the published address"""

_ADDRSTRLEN = 46
_MAX_TX = 1 << 20

# pjsip/sip_errno.h
_PJ_EIGNORED = 70013
_PJSIP_EINVALIDMSG = 171020
_PJSIP_EMISSINGHDR = 171050
_PJSIP_ERXOVERFLOW = 171062
PJ_ECANCELLED = 70014


class LayoutError(CannotRunError):
    """The SIP stack's structures are not where siptest expects them."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"siptest cannot read its SIP stack's messages ({what}). It needs "
            f"pjsua2-python==2.15.1.post1 (pjproject {SUPPORTED_VERSION}) on x86-64 Linux: "
            "reinstall it with pip install --force-reinstall pjsua2-python==2.15.1.post1."
        )


def stay_on_the_chosen_transport(lib: Any) -> None:
    """Send large requests over the transport the user chose.

    pjsip moves a request over 1,300 bytes from UDP to TCP (RFC 3261 18.1.1), but
    siptest opens only the transport it tests: the move fails ("Unsuitable
    transport") and a credentialed INVITE with a long number is never sent. A
    phone set to UDP sends it over UDP, fragmented, and so does siptest.
    (pjsip_cfg()->endpt.disable_tcp_switch and disable_tls_switch, pj_bool_t 4 and 5
    of pjsip_sip_cfg_var.)
    """
    base = ctypes.addressof(ctypes.c_int.in_dll(lib, "pjsip_sip_cfg_var"))
    for index in (_CFG_DISABLE_TCP_SWITCH, _CFG_DISABLE_TLS_SWITCH):
        ctypes.c_int.from_address(base + 4 * index).value = 1


_CFG_DISABLE_TCP_SWITCH = 4
_CFG_DISABLE_TLS_SWITCH = 5


def check_layout(version: str) -> None:
    if version != SUPPORTED_VERSION:
        raise LayoutError(f"found pjproject {version}")
    if sys.platform != "linux" or platform.machine() != "x86_64" or struct.calcsize("P") != 8:
        raise LayoutError(f"found {sys.platform} on {platform.machine()}")


class _Module(ctypes.Structure):
    """pjsip_module (pjsip/sip_module.h)."""


_RX = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_TX = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_DROP = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_Module._fields_ = [
    ("prev", ctypes.c_void_p),
    ("next", ctypes.c_void_p),
    ("name_ptr", ctypes.c_char_p),
    ("name_len", ctypes.c_ssize_t),
    ("id", ctypes.c_int),
    ("priority", ctypes.c_int),
    ("load", ctypes.c_void_p),
    ("start", ctypes.c_void_p),
    ("stop", ctypes.c_void_p),
    ("unload", ctypes.c_void_p),
    ("on_rx_request", _RX),
    ("on_rx_response", _RX),
    ("on_tx_request", _TX),
    ("on_tx_response", _TX),
    ("on_tsx_state", ctypes.c_void_p),
]


class _DroppedData(ctypes.Structure):
    """pjsip_tp_dropped_data."""

    _fields_ = [
        ("tp", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
        ("len", ctypes.c_size_t),
        ("status", ctypes.c_int),
    ]


_PRIORITY = 5


class TapHandler(Protocol):
    """What the tap calls; the agent's capture implements it."""

    def sent(self, tapped: Tapped, is_request: bool) -> bool:
        """A message is about to leave; False stops it."""
        ...

    def received(self, tapped: Tapped, is_request: bool) -> int | None:
        """A message arrived; a status code answers a request statelessly instead."""
        ...

    def dropped(self, tapped: Tapped, cause: DropCause) -> None: ...

    def failed(self, where: str, error: BaseException) -> None:
        """The tap's own code raised: never let it pass silently."""
        ...


class StackTap:
    """Installs the module and the drop callback; converts pjsip's structures to bytes."""

    def __init__(self, lib: Any, handler: TapHandler) -> None:
        self._lib = lib
        self._handler = handler
        lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
        lib.pjsip_endpt_register_module.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.pjsip_endpt_get_tpmgr.restype = ctypes.c_void_p
        lib.pjsip_endpt_get_tpmgr.argtypes = [ctypes.c_void_p]
        lib.pjsip_tpmgr_set_drop_data_cb.argtypes = [ctypes.c_void_p, _DROP]
        lib.pjsip_endpt_respond_stateless.argtypes = [
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self._endpt = lib.pjsua_get_pjsip_endpt()
        # ctypes callbacks must live as long as pjsip may call them.
        self._callbacks = (
            _RX(self._on_rx_request),
            _RX(self._on_rx_response),
            _TX(self._on_tx_request),
            _TX(self._on_tx_response),
            _DROP(self._on_dropped),
        )
        self._name = b"mod-siptest-tap"
        self._module = _Module(
            name_ptr=self._name,
            name_len=len(self._name),
            id=-1,
            priority=_PRIORITY,
            on_rx_request=self._callbacks[0],
            on_rx_response=self._callbacks[1],
            on_tx_request=self._callbacks[2],
            on_tx_response=self._callbacks[3],
        )
        status = lib.pjsip_endpt_register_module(self._endpt, ctypes.byref(self._module))
        if status != 0:
            raise CannotRunError(f"Could not install siptest's SIP tap (pjsip status {status}).")
        tpmgr = lib.pjsip_endpt_get_tpmgr(self._endpt)
        status = lib.pjsip_tpmgr_set_drop_data_cb(tpmgr, self._callbacks[4])
        if status != 0:
            raise CannotRunError(f"Could not install siptest's SIP tap (pjsip status {status}).")

    def connection(self, transport: int) -> tuple[str, str]:
        """A TCP or TLS connection's transport name and peer (`host:port`), from its
        pjsip_transport pointer (pjsua2's TransportHandle)."""
        if not transport:
            return "?", ""
        type_name = self._type_name(transport)
        return type_name, _sockaddr(ctypes.string_at(transport + _TP_REMOTE_ADDR, 28))

    # -- reading pjsip's structures -------------------------------------------

    @staticmethod
    def _pointer(address: int) -> int:
        return ctypes.c_void_p.from_address(address).value or 0

    @staticmethod
    def _int(address: int) -> int:
        return ctypes.c_int.from_address(address).value

    def _type_name(self, transport: int) -> str:
        if not transport:
            return "?"
        name = self._pointer(transport + _TP_TYPE_NAME)
        return ctypes.string_at(name).decode("ascii", "replace")[:8] if name else "?"

    def _local(self, transport: int) -> str:
        """Our side of a transport: its socket's address, else the one it publishes."""
        if not transport:
            return ""
        bound = _sockaddr(ctypes.string_at(transport + _TP_LOCAL_ADDR, 28))
        if bound and not bound.startswith(("0.0.0.0:", "[::]:")):
            return bound
        host = self._pointer(transport + _TP_LOCAL_NAME)
        length = ctypes.c_ssize_t.from_address(transport + _TP_LOCAL_NAME + 8).value
        if not host or not 0 < length <= _ADDRSTRLEN:
            return bound
        name = ctypes.string_at(host, length).decode("ascii", "replace")
        return _hostport(name, self._int(transport + _TP_LOCAL_NAME + 0x10))

    def _rx(self, rdata: int) -> Tapped:
        packet = rdata + _RX_PACKET
        buf = self._pointer(rdata + _RX_MSG_BUF)
        length = self._int(rdata + _RX_MSG_LEN)
        packet_len = ctypes.c_ssize_t.from_address(rdata + _RX_PACKET_LEN).value
        if not (packet <= buf and length > 0 and buf + length <= packet + PACKET_LIMIT):
            raise LayoutError("received message outside the packet buffer")
        pointer = self._pointer(rdata + _RX_TRANSPORT)
        transport = self._type_name(pointer)
        host = ctypes.string_at(rdata + _RX_SRC_NAME, _ADDRSTRLEN).split(b"\0", 1)[0]
        port = self._int(rdata + _RX_SRC_PORT)
        return Tapped(
            data=ctypes.string_at(buf, length),
            transport=transport,
            remote=_hostport(host.decode("ascii", "replace"), port),
            local=self._local(pointer),
            cut=transport.startswith("UDP") and packet_len >= PACKET_LIMIT,
        )

    def _tx(self, tdata: int) -> Tapped:
        start = self._pointer(tdata + _TX_BUF_START)
        cur = self._pointer(tdata + _TX_BUF_CUR)
        if not (start and start < cur and cur - start < _MAX_TX):
            raise LayoutError("outgoing message buffer")
        host = ctypes.string_at(tdata + _TX_DST_NAME, _ADDRSTRLEN).split(b"\0", 1)[0]
        pointer = self._pointer(tdata + _TX_TRANSPORT)
        return Tapped(
            data=ctypes.string_at(start, cur - start),
            transport=self._type_name(pointer),
            remote=_hostport(host.decode("ascii", "replace"), self._int(tdata + _TX_DST_PORT)),
            local=self._local(pointer),
        )

    def _drop_source(self, transport: int, data: int, type_name: str) -> str:
        """Where dropped bytes came from: a connection's peer, or a datagram's sender."""
        if not transport or not data:
            return ""
        if not type_name.startswith("UDP"):
            return _sockaddr(ctypes.string_at(transport + _TP_REMOTE_ADDR, 28))
        # A datagram is one fragment, after any leading CR/LF pjsip skipped; the
        # byte before the packet buffer is the top byte of a millisecond count
        # (always 0), so walking back over CR/LF stops exactly at its start.
        start = data
        for _ in range(PACKET_LIMIT):
            if ctypes.string_at(start - 1, 1) not in (b"\r", b"\n"):
                break
            start -= 1
        rdata = start - _RX_PACKET
        # pjsip points msg_info.msg_buf at the fragment before it gives up on it.
        if self._pointer(rdata + _RX_MSG_BUF) != data:
            return ""
        host = ctypes.string_at(rdata + _RX_SRC_NAME, _ADDRSTRLEN).split(b"\0", 1)[0]
        return _hostport(host.decode("ascii", "replace"), self._int(rdata + _RX_SRC_PORT))

    # -- callbacks from C: never raise ----------------------------------------

    def _failed(self, where: str, exc: BaseException) -> None:
        """Report siptest's own failure; never let anything raise back into C."""
        try:
            self._handler.failed(where, exc)
        except BaseException:
            pass

    def _on_rx_request(self, rdata: int | None) -> int:
        if not rdata:
            return 0
        try:
            status = self._handler.received(self._rx(rdata), is_request=True)
            if status is None:
                return 0
            sent = self._lib.pjsip_endpt_respond_stateless(
                self._endpt, rdata, status, None, None, None
            )
            # Taken away from the stack only when our answer really left.
            return 1 if sent == 0 else 0
        except Exception as exc:  # reported, never raised into C
            self._failed("on_rx_request", exc)
            return 0

    def _on_rx_response(self, rdata: int | None) -> int:
        if not rdata:
            return 0
        try:
            self._handler.received(self._rx(rdata), is_request=False)
        except Exception as exc:
            self._failed("on_rx_response", exc)
        return 0

    def _on_tx_request(self, tdata: int | None) -> int:
        if not tdata:
            return PJ_ECANCELLED
        try:
            return 0 if self._handler.sent(self._tx(tdata), is_request=True) else PJ_ECANCELLED
        except Exception as exc:
            self._failed("on_tx_request", exc)
            # Fail closed: a request siptest could not check is not sent.
            return PJ_ECANCELLED

    def _on_tx_response(self, tdata: int | None) -> int:
        if not tdata:
            return 0
        try:
            self._handler.sent(self._tx(tdata), is_request=False)
        except Exception as exc:
            self._failed("on_tx_response", exc)
        return 0

    def _on_dropped(self, pointer: int | None) -> None:
        if not pointer:
            return
        try:
            dropped = _DroppedData.from_address(pointer)
            if dropped.status == _PJ_EIGNORED or not dropped.data or not dropped.len:
                return  # CR/LF keep-alives (RFC 5626 4.4.1)
            type_name = self._type_name(dropped.tp or 0)
            cause: DropCause = (
                "too_large"
                if dropped.status == _PJSIP_ERXOVERFLOW
                else "incomplete"
                if dropped.status == _PJSIP_EMISSINGHDR
                else "malformed"
            )
            length = min(int(dropped.len), PACKET_LIMIT)
            tapped = Tapped(
                data=ctypes.string_at(dropped.data, length),
                transport=type_name,
                remote=self._drop_source(dropped.tp or 0, dropped.data, type_name),
                local=self._local(dropped.tp or 0),
                cut=type_name.startswith("UDP") and length >= PACKET_LIMIT,
            )
            if tapped.cut:
                cause = "too_large"
            self._handler.dropped(tapped, cause)
        except Exception as exc:
            self._failed("on_dropped", exc)


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _sockaddr(raw: bytes) -> str:
    """`host:port` of a Linux sockaddr_in / sockaddr_in6; "" for anything else."""
    family = int.from_bytes(raw[:2], "little")
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET:
        return _hostport(socket.inet_ntop(socket.AF_INET, raw[4:8]), port)
    if family == socket.AF_INET6:
        return _hostport(socket.inet_ntop(socket.AF_INET6, raw[8:24]), port)
    return ""


__all__ = ["PJ_ECANCELLED", "StackTap", "TapHandler", "Tapped", "check_layout"]
