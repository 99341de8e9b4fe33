"""The SIP exchange as a capture file Wireshark, tshark and sngrep open (`--pcap PATH`).

Written from what the stack tap recorded (`siptest.ua.events`): every SIP message
exactly as it crossed the wire, with its addresses and time, wrapped in IPv4/IPv6
and UDP or TCP headers (dpkt builds them). Credentials are redacted as in traces, so
the file can go into a ticket. What the file is not:

* not a capture of the network: it holds the messages siptest's stack sent and
  received, not retransmissions at the IP level or anything else on the wire;
* TLS is shown decrypted, as TCP on the TLS port (Wireshark: "Decode As... SIP");
* bytes the stack refused (`MessageDropped`) are included, so they can be seen;
* media: when the agent kept a call's RTP and RTCP packets (`MediaCaptured`, asked
  for by `--pcap`), they are UDP datagrams between the ports of the SDP, at the
  times the stack sent them or handed them up. An RTP packet is cut after its
  header (`siptest.ua.rtp`): its record says how long it was, the audio is not in
  the file. RTCP packets are whole. A call between two of siptest's own accounts
  is kept at both ends, so each datagram was seen twice, sent and received: it is
  written once, when it was sent.
"""

from __future__ import annotations

import ipaddress
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from siptest.hostport import split_hostport
from siptest.report.trace import write_private_bytes
from siptest.ua.events import Event, MessageDropped, RequestSent, WireMessage, redact_bytes
from siptest.ua.evidence import unsent
from siptest.ua.mediaevents import MediaCaptured, MediaPacket

_LINKTYPE_RAW = 101
"""Raw IP packets (LINKTYPE_RAW): no link layer to invent."""
_SNAPLEN = 65535
"""The longest record: a SIP message over TCP may be longer than an Ethernet frame."""


def _split(address: str) -> tuple[str, int]:
    host, port = split_hostport(address)
    return host, port or 0


def _packet(source: str, destination: str, payload: bytes, transport: str, seq: int) -> bytes:
    import dpkt

    (src_host, src_port), (dst_host, dst_port) = _split(source), _split(destination)
    src_ip, dst_ip = ipaddress.ip_address(src_host), ipaddress.ip_address(dst_host)
    segment: dpkt.Packet
    if transport.upper().startswith("UDP"):
        segment = dpkt.udp.UDP(sport=src_port, dport=dst_port, data=payload)
        segment.ulen = len(segment)
        protocol = dpkt.ip.IP_PROTO_UDP
    else:
        segment = dpkt.tcp.TCP(
            sport=src_port, dport=dst_port, seq=seq, flags=dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH,
            data=payload,
        )  # fmt: skip
        protocol = dpkt.ip.IP_PROTO_TCP
    if src_ip.version == 6:
        packet: dpkt.Packet = dpkt.ip6.IP6(
            src=src_ip.packed, dst=dst_ip.packed, nxt=protocol, hlim=64, data=segment
        )
        packet.plen = len(segment)
    else:
        packet = dpkt.ip.IP(src=src_ip.packed, dst=dst_ip.packed, p=protocol, ttl=64, data=segment)
        packet.len = len(packet)
    return bytes(packet)


def _media_packet(packet: MediaPacket) -> tuple[bytes, int]:
    """An RTP/RTCP datagram's record (cut to what was kept) and its length on the wire."""
    sent = packet.direction == "sent"
    source, destination = (packet.local, packet.remote) if sent else (packet.remote, packet.local)
    # The whole datagram's headers (lengths as on the wire), the payload not kept as
    # zeros, then cut after what was kept.
    payload = packet.head + bytes(max(0, packet.size - len(packet.head)))
    whole = _packet(source, destination, payload, "UDP", 0)
    headers = len(whole) - len(payload)
    cut = bytearray(whole[: headers + len(packet.head)])
    # No UDP checksum (0): it would be over bytes that are not in the file.
    cut[headers - 2 : headers] = b"\0\0"
    return bytes(cut), len(whole)


def _datagram(packet: MediaPacket) -> tuple[str, str, int, bytes]:
    """What identifies a datagram on the wire: source, destination, length, head."""
    if packet.direction == "sent":
        return packet.local, packet.remote, packet.size, packet.head
    return packet.remote, packet.local, packet.size, packet.head


def _also_sent(events: list[Event]) -> Counter[tuple[str, str, int, bytes]]:
    """Datagrams one of our transports sent, by how many times: a transport of ours
    that received one of them received that same datagram (both ends are siptest's)."""
    return Counter(
        _datagram(packet)
        for event in events
        if isinstance(event, MediaCaptured)
        for packet in event.packets
        if packet.direction == "sent"
    )


def _records(events: list[Event], origin: float) -> list[tuple[float, bytes, int]]:
    """(time, record bytes, length on the wire) of everything the capture holds."""
    records: list[tuple[float, bytes, int]] = []
    sequence: dict[tuple[str, str], int] = {}
    never = unsent(events)
    sent_by_us = _also_sent(events)
    for index, event in enumerate(events):
        if isinstance(event, MediaCaptured):
            for packet in event.packets:
                if packet.direction == "received" and sent_by_us[_datagram(packet)] > 0:
                    sent_by_us[_datagram(packet)] -= 1
                    continue  # written once, when it was sent
                try:
                    data, length = _media_packet(packet)
                except ValueError:
                    continue  # an address that is not an IP address (never from the tap)
                records.append((origin + packet.at, data, length))
            continue
        if not isinstance(event, (WireMessage, MessageDropped)) or not event.local:
            continue
        if not event.remote:
            continue
        if index in never or (isinstance(event, RequestSent) and event.blocked):
            continue  # never on the wire: stopped by siptest, or the stack never sent it
        sent = isinstance(event, WireMessage) and event.direction == "sent"
        source, destination = (event.local, event.remote) if sent else (event.remote, event.local)
        payload = redact_bytes(event.data)
        # One TCP stream per pair of addresses, sequence numbers counting its bytes.
        seq = sequence.get((source, destination), 1)
        sequence[(source, destination)] = seq + len(payload)
        try:
            record = _packet(source, destination, payload, event.transport, seq)
        except ValueError:
            continue  # an address that is not an IP address (never from the tap)
        records.append((origin + event.at, record, len(record)))
    # SIP events are in time order already; media packets join them where they happened.
    records.sort(key=lambda record: record[0])
    return records


def pcap_bytes(events: Iterable[Event], started: float | None = None) -> bytes:
    """The capture file's bytes; `started` is the wall-clock time of the agent's clock 0."""
    import dpkt

    events = list(events)
    if started is None:
        # The agent's clock starts at 0; the file is written right after the run,
        # so its last event happened about now (wall clock, to a few milliseconds).
        last = max((getattr(event, "at", 0.0) for event in events), default=0.0)
        started = time.time() - last
    little = sys.byteorder == "little"
    file_header = dpkt.pcap.LEFileHdr if little else dpkt.pcap.FileHdr
    record_header = dpkt.pcap.LEPktHdr if little else dpkt.pcap.PktHdr
    out = [bytes(file_header(snaplen=_SNAPLEN, linktype=_LINKTYPE_RAW))]
    for at, data, length in _records(events, started):
        seconds = int(at)
        micros = min(999_999, round((at - seconds) * 1_000_000))
        out.append(
            bytes(record_header(tv_sec=seconds, tv_usec=micros, caplen=len(data), len=length))
        )
        out.append(data)
    return b"".join(out)


def write_pcap(path: Path, events: Iterable[Event], started: float | None = None) -> None:
    write_private_bytes(path, pcap_bytes(events, started))
