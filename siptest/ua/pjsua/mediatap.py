"""A tap on a call's media: every RTP and RTCP datagram pjmedia's UDP transport sends
or receives, with its addresses and time (for `--pcap`); and, for every call, the
payload types of the RTP it received (what counts as audio heard, docs/media.md).

Without `--pcap` the tap keeps no packet and leaves the sending side alone: it
only reads the second byte of each RTP datagram handed up to the stream (about 50
a second) and counts it by payload type. pjmedia counts every RTP packet it gets
in its statistics (`rxStat.pkt`), also those it throws away because their payload
type was never negotiated (stream.c checks the type, rtcp.c counts the packet
all the same) and the telephone events it reads as DTMF: neither is audio.

pjsua creates one pjmedia UDP transport per call and hands it to
`Call.onCreateMediaTransport` before anything uses it. A `pjmedia_transport` is a
name, a type and a pointer to a table of operations (pjmedia/transport.h); the
stream calls that table for every packet it sends (`send_rtp`, `send_rtcp`,
`send_rtcp2`) and gives the transport, through `attach`/`attach2`, the callbacks
that receive. The tap gives each transport its own copy of the table in which
those entries are siptest's functions (ctypes callbacks): each notes the
datagram and calls the original, whose result it returns unchanged. Nothing else
of the transport changes; the copy lives as long as the agent, past `libDestroy`.
A transport freed at a call's end leaves its memory to the pool, and the next
call's transport is often made at the same address: a transport is known as
watched by its table pointing at siptest's copy, not by its address, and each
watch gets its own handle, so a call takes only its own packets.

Where the datagrams go or come from is read from the UDP transport's own state at
the moment of the call: `rem_rtp_addr`/`rem_rtcp_addr` (where `send_*` sends; they
change when the transport latches onto another source), `rtp_src_addr`/
`rtcp_src_addr` (where the datagram being handed up came from). These are private
fields, read at fixed offsets taken from the wheel's machine code
(`transport_send_rtp`, `transport_send_rtcp`, `call_rtp_cb`, `on_rx_rtcp`,
`transport_get_info`, `tp_attach`, `pjmedia_transport_udp_attach` of pjproject
2.15.1 on x86-64 Linux, the build `tap.check_layout` admits). `attach` checks them:
after the original ran, the transport must hold the user data and remote address
it was given, or siptest stops (`LayoutError`) instead of reading garbage.

Threads: the stream sends from the audio clock's thread (the null sound device's),
and receives on siptest's own thread inside `libHandleEvents`. The binding
releases the GIL around every call into the stack and ctypes around every call
out of a callback, so neither thread waits for the other while holding a lock of
the stack. A packet is kept only when the transport really sent it (attached, and
the original returned success); siptest never sets pjmedia's simulated loss.
"""

from __future__ import annotations

import ctypes
import itertools
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from siptest.ua.events import Direction
from siptest.ua.mediaevents import MediaPacket
from siptest.ua.pjsua.tap import LayoutError, _sockaddr
from siptest.ua.rtp import RTP_FIXED_HEADER, kept_bytes, payload_type

# pjmedia_transport (pjmedia/transport.h), x86-64: char name[32]; type; op; ...
_TP_NAME = 0x0
_TP_TYPE = 0x20
_TP_OP = 0x28
_TYPE_UDP = 0
"""PJMEDIA_TRANSPORT_TYPE_UDP"""

# pjmedia_transport_op: 13 function pointers, in this order.
_OPS = 13
_OP_ATTACH = 1
_OP_SEND_RTP = 3
_OP_SEND_RTCP = 4
_OP_SEND_RTCP2 = 5
_OP_ATTACH2 = 12

# pjmedia_transport_attach_param
_AP_SIZE = 0x68
_AP_REM_ADDR = 0x0C
_AP_USER_DATA = 0x48
_AP_RTP_CB = 0x50
_AP_RTCP_CB = 0x58
_AP_RTP_CB2 = 0x60

# pjmedia_tp_cb_param: user_data, pkt, size, src_addr, rem_switch
_CB_PKT = 0x08
_CB_SIZE = 0x10

# struct transport_udp (pjmedia/src/pjmedia/transport_udp.c), private
_UDP_USER_DATA = 0x50
_UDP_ATTACHED = 0x58
_UDP_REM_RTP = 0x5C
_UDP_REM_RTCP = 0x78
_UDP_RTP_SOCK = 0xC0
_UDP_RTP_NAME = 0xC8
_UDP_RTP_SRC = 0x1DE8
_UDP_RTCP_MUX = 0x25DC
_UDP_RTCP_SOCK = 0x25E0
_UDP_RTCP_NAME = 0x25E8
_UDP_RTCP_SRC = 0x2604

_SOCKADDR = 28

_ATTACH = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_uint,
    ctypes.c_void_p,
    ctypes.c_void_p,
)
_ATTACH2 = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_SEND = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_SEND2 = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_size_t
)
_RX = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ssize_t)
_RX2 = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

Clock = Callable[[], float]
Failed = Callable[[str, BaseException], None]


@dataclass
class _Watched:
    """One transport under the tap."""

    tp: int
    table: Any
    """Its copy of the operation table (must outlive the transport)."""
    send_rtp: Any
    send_rtcp: Any
    send_rtcp2: Any
    attach: Any
    attach2: Any
    rtp_cb: Any = None
    rtp_cb2: Any = None
    rtcp_cb: Any = None
    local_rtp: str = ""
    local_rtcp: str = ""
    packets: list[MediaPacket] = field(default_factory=list)
    payload_types: dict[int, int] = field(default_factory=dict)
    """RTP packets received by the stream attached now, by payload type (RTCP not
    counted): counted afresh when a stream attaches, as pjmedia's statistics are
    (pjsua makes a new stream when a re-INVITE changes the media)."""
    handle: int = 0
    """What `watch` gave for it (0 until then)."""


def _pointer(address: int) -> int:
    return ctypes.c_void_p.from_address(address).value or 0


def _int(address: int) -> int:
    return ctypes.c_int.from_address(address).value


def _name(tp: int) -> bytes:
    return ctypes.string_at(tp + _TP_NAME, 32).split(b"\0", 1)[0]


def _address(address: int) -> str:
    return _sockaddr(ctypes.string_at(address, _SOCKADDR))


def _bound(tp: int, sock_at: int, name_at: int) -> str:
    """Our side of a socket: the kernel's address, else the one the transport publishes."""
    published = _address(tp + name_at)
    fd = ctypes.c_long.from_address(tp + sock_at).value
    if fd < 0:
        return published
    try:
        family = socket.AF_INET6 if published.startswith("[") else socket.AF_INET
        with socket.fromfd(fd, family, socket.SOCK_DGRAM) as sock:
            host, port = sock.getsockname()[:2]
    except OSError:
        return published
    if host in ("0.0.0.0", "::"):
        return published
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class MediaTap:
    """Puts transports under the tap; counts the payload types they receive and, with
    `keep` (`--pcap`), keeps their packets until a call takes them."""

    def __init__(self, lib: Any, clock: Clock, failed: Failed, keep: bool = True) -> None:
        lib.pjmedia_transport_srtp_get_member.restype = ctypes.c_void_p
        lib.pjmedia_transport_srtp_get_member.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._clock = clock
        self._failed = failed
        self._keep_packets = keep
        self._watched: dict[int, _Watched] = {}
        """By transport address: the transport living there now."""
        self._handles: dict[int, _Watched] = {}
        """By the handle `watch` gave; dropped when taken."""
        self._serial = itertools.count(1)
        self._retired: list[_Watched] = []
        """Transports whose address a newer one took: their tables and callbacks stay
        alive as long as the agent (the stack may still hold a pointer to them)."""
        self._by_user: dict[int, _Watched] = {}
        """By the user data the stream attached with (a stream: one transport)."""
        self._callbacks = (
            _ATTACH(self._on_attach),
            _ATTACH2(self._on_attach2),
            _SEND(self._on_send_rtp),
            _SEND(self._on_send_rtcp),
            _SEND2(self._on_send_rtcp2),
            _RX(self._on_rx_rtp),
            _RX2(self._on_rx_rtp2),
            _RX(self._on_rx_rtcp),
        )

    # -- set-up (siptest's thread) -------------------------------------------

    def watch(self, transport: int) -> int:
        """Put a freshly created transport under the tap: a handle for `take` (never
        0), or 0 when there is no UDP transport to watch."""
        tp = transport
        if tp and _name(tp).startswith(b"srtp"):
            # pjsua puts an SRTP adapter over every UDP transport (passing packets
            # through unchanged while SRTP is off): the datagrams are the member's.
            tp = self._lib.pjmedia_transport_srtp_get_member(tp) or 0
        if not tp:
            return 0
        known = self._watched.get(tp)
        if known is not None:
            if _pointer(tp + _TP_OP) == ctypes.addressof(known.table):
                return self._handle(known)  # this very transport, watched already
            # A new transport where a freed one lived: the old entry is history.
            self._retired.append(self._watched.pop(tp))
        if _int(tp + _TP_TYPE) != _TYPE_UDP or not _name(tp).startswith(b"udp"):
            return 0  # ICE or a loop transport: siptest never sets them up
        original = _pointer(tp + _TP_OP)
        if not original:
            raise LayoutError("media transport without operations")
        table = (ctypes.c_void_p * _OPS).from_buffer_copy(ctypes.string_at(original, 8 * _OPS))
        entries = [entry or 0 for entry in table]
        if not all(entries):
            raise LayoutError("media transport operations")
        watched = _Watched(
            tp=tp,
            table=table,
            send_rtp=_SEND(entries[_OP_SEND_RTP]),
            send_rtcp=_SEND(entries[_OP_SEND_RTCP]),
            send_rtcp2=_SEND2(entries[_OP_SEND_RTCP2]),
            attach=_ATTACH(entries[_OP_ATTACH]),
            attach2=_ATTACH2(entries[_OP_ATTACH2]),
        )
        ours = [ctypes.cast(callback, ctypes.c_void_p).value for callback in self._callbacks]
        table[_OP_ATTACH], table[_OP_ATTACH2] = ours[:2]
        if self._keep_packets:  # counting reads only what is received
            table[_OP_SEND_RTP], table[_OP_SEND_RTCP], table[_OP_SEND_RTCP2] = ours[2:5]
        self._watched[tp] = watched
        ctypes.c_void_p.from_address(tp + _TP_OP).value = ctypes.addressof(table)
        return self._handle(watched)

    def _handle(self, watched: _Watched) -> int:
        if not watched.handle:
            watched.handle = next(self._serial)
        self._handles[watched.handle] = watched
        return watched.handle

    def payload_types(self, handles: list[int]) -> dict[int, int]:
        """The RTP packets these transports (by the handles `watch` gave) received so
        far in their current streams, by payload type."""
        counts: dict[int, int] = {}
        for handle in handles:
            watched = self._handles.get(handle)
            if watched is not None:
                for kind, count in watched.payload_types.items():
                    counts[kind] = counts.get(kind, 0) + count
        return counts

    def take(self, handles: list[int]) -> tuple[MediaPacket, ...]:
        """The packets of these transports (by the handles `watch` gave), in time
        order (none without `keep`); kept no longer, and counted no longer."""
        packets: list[MediaPacket] = []
        for handle in handles:
            watched = self._handles.pop(handle, None)
            if watched is not None:
                packets.extend(watched.packets)
                watched.packets = []
        return tuple(sorted(packets, key=lambda packet: packet.at))

    # -- reading the transport -----------------------------------------------

    def _keep(
        self, watched: _Watched, direction: Direction, rtcp: bool, remote: str, data: bytes
    ) -> None:
        watched.packets.append(
            MediaPacket(
                at=self._clock(),
                direction=direction,
                rtcp=rtcp,
                local=watched.local_rtcp if rtcp else watched.local_rtp,
                remote=remote,
                size=len(data),
                head=kept_bytes(data, rtcp),
            )
        )

    def _attached(self, watched: _Watched, user_data: int, rem_addr: int) -> None:
        """Check the layout on the transport the original attach has just set up."""
        tp = watched.tp
        if (
            _pointer(tp + _UDP_USER_DATA) != (user_data or 0)
            or _int(tp + _UDP_ATTACHED) != 1
            or _address(tp + _UDP_REM_RTP) != _address(rem_addr)
        ):
            raise LayoutError("media transport after attach")
        watched.local_rtp = _bound(tp, _UDP_RTP_SOCK, _UDP_RTP_NAME)
        watched.local_rtcp = (
            watched.local_rtp
            if _int(tp + _UDP_RTCP_MUX)
            else _bound(tp, _UDP_RTCP_SOCK, _UDP_RTCP_NAME)
        )

    # -- callbacks from C: never raise ---------------------------------------

    def _on_attach(
        self,
        tp: int | None,
        user_data: int | None,
        rem_addr: int | None,
        rem_rtcp: int | None,
        addr_len: int,
        rtp_cb: int | None,
        rtcp_cb: int | None,
    ) -> int:
        watched = self._watched[tp or 0]
        watched.payload_types = {}
        if user_data:
            # before the original: the transport may hand packets up at once
            self._by_user[user_data] = watched
        ours_rtp = ours_rtcp = None
        try:
            watched.rtp_cb = _RX(rtp_cb) if rtp_cb else None
            watched.rtcp_cb = _RX(rtcp_cb) if rtcp_cb else None
            ours_rtp = self._callbacks[5] if rtp_cb else None
            ours_rtcp = self._callbacks[7] if rtcp_cb else None
        except Exception as exc:
            self._failed("media attach", exc)
            ours_rtp, ours_rtcp = rtp_cb, rtcp_cb  # type: ignore[assignment]
        status = int(
            watched.attach(tp, user_data, rem_addr, rem_rtcp, addr_len, ours_rtp, ours_rtcp)
        )
        if status == 0:
            try:
                self._attached(watched, user_data or 0, rem_addr or 0)
            except Exception as exc:
                self._failed("media attach", exc)
        return status

    def _on_attach2(self, tp: int | None, param: int | None) -> int:
        watched = self._watched[tp or 0]
        watched.payload_types = {}
        if not param:
            return int(watched.attach2(tp, param))
        copy = ctypes.create_string_buffer(ctypes.string_at(param, _AP_SIZE), _AP_SIZE)
        at = ctypes.addressof(copy)
        user_data = _pointer(param + _AP_USER_DATA)
        if user_data:
            self._by_user[user_data] = watched
        try:
            rtp_cb, rtp_cb2, rtcp_cb = (
                _pointer(param + _AP_RTP_CB),
                _pointer(param + _AP_RTP_CB2),
                _pointer(param + _AP_RTCP_CB),
            )
            watched.rtp_cb = _RX(rtp_cb) if rtp_cb else None
            watched.rtp_cb2 = _RX2(rtp_cb2) if rtp_cb2 else None
            watched.rtcp_cb = _RX(rtcp_cb) if rtcp_cb else None
            for offset, original, ours in (
                (_AP_RTP_CB, rtp_cb, self._callbacks[5]),
                (_AP_RTP_CB2, rtp_cb2, self._callbacks[6]),
                (_AP_RTCP_CB, rtcp_cb, self._callbacks[7]),
            ):
                if original:
                    ctypes.c_void_p.from_address(at + offset).value = ctypes.cast(
                        ours, ctypes.c_void_p
                    ).value
        except Exception as exc:
            self._failed("media attach", exc)
            return int(watched.attach2(tp, param))
        status = int(watched.attach2(tp, at))
        if status == 0:
            try:
                self._attached(watched, user_data, param + _AP_REM_ADDR)
            except Exception as exc:
                self._failed("media attach", exc)
        return status

    def _send(self, tp: int | None, pkt: int | None, size: int, rtcp: bool, send: Any) -> int:
        watched = self._watched[tp or 0]
        try:
            attached = _int(watched.tp + _UDP_ATTACHED) != 0
            remote = _address(watched.tp + (_UDP_REM_RTCP if rtcp else _UDP_REM_RTP))
            data = ctypes.string_at(pkt, size) if pkt and 0 < size <= 65535 else b""
        except Exception as exc:
            self._failed("media send", exc)
            return int(send(tp, pkt, size))
        status = int(send(tp, pkt, size))
        if status == 0 and attached and data:
            try:
                self._keep(watched, "sent", rtcp, remote, data)
            except Exception as exc:
                self._failed("media send", exc)
        return status

    def _on_send_rtp(self, tp: int | None, pkt: int | None, size: int) -> int:
        return self._send(tp, pkt, size, False, self._watched[tp or 0].send_rtp)

    def _on_send_rtcp(self, tp: int | None, pkt: int | None, size: int) -> int:
        return self._send(tp, pkt, size, True, self._watched[tp or 0].send_rtcp)

    def _on_send_rtcp2(
        self, tp: int | None, addr: int | None, addr_len: int, pkt: int | None, size: int
    ) -> int:
        watched = self._watched[tp or 0]
        if not addr:  # no address: the transport's own RTCP destination
            return self._send(
                tp, pkt, size, True, lambda t, p, s: watched.send_rtcp2(t, None, addr_len, p, s)
            )
        status = int(watched.send_rtcp2(tp, addr, addr_len, pkt, size))
        try:
            if status == 0 and _int(watched.tp + _UDP_ATTACHED) and pkt and 0 < size <= 65535:
                self._keep(watched, "sent", True, _address(addr), ctypes.string_at(pkt, size))
        except Exception as exc:
            self._failed("media send", exc)
        return status

    def _received(self, user_data: int | None, pkt: int | None, size: int, rtcp: bool) -> None:
        try:
            watched = self._by_user.get(user_data or 0)
            if watched is None or not pkt or not 0 < size <= 65535:
                return
            if not rtcp and size >= RTP_FIXED_HEADER:
                kind = payload_type(ctypes.string_at(pkt, 2))
                if kind is not None:
                    watched.payload_types[kind] = watched.payload_types.get(kind, 0) + 1
            if not self._keep_packets:
                return
            source = _address(watched.tp + (_UDP_RTCP_SRC if rtcp else _UDP_RTP_SRC))
            self._keep(watched, "received", rtcp, source, ctypes.string_at(pkt, size))
        except Exception as exc:
            self._failed("media receive", exc)

    def _on_rx_rtp(self, user_data: int | None, pkt: int | None, size: int) -> None:
        self._received(user_data, pkt, size, rtcp=False)
        watched = self._by_user.get(user_data or 0)
        if watched is not None and watched.rtp_cb is not None:
            watched.rtp_cb(user_data, pkt, size)

    def _on_rx_rtp2(self, param: int | None) -> None:
        user_data = _pointer(param) if param else 0
        if param:
            self._received(
                user_data,
                _pointer(param + _CB_PKT),
                ctypes.c_ssize_t.from_address(param + _CB_SIZE).value,
                rtcp=False,
            )
        watched = self._by_user.get(user_data)
        if watched is not None and watched.rtp_cb2 is not None:
            watched.rtp_cb2(param)

    def _on_rx_rtcp(self, user_data: int | None, pkt: int | None, size: int) -> None:
        self._received(user_data, pkt, size, rtcp=True)
        watched = self._by_user.get(user_data or 0)
        if watched is not None and watched.rtcp_cb is not None:
            watched.rtcp_cb(user_data, pkt, size)


__all__ = ["MediaTap"]
