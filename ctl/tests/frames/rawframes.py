#!/usr/bin/env python3
"""Raw Ethernet frames for the daemon's fault tests (no scapy needed, stdlib only).

  rawframes.py send-malformed IFACE     send each malformed frame once, then one good frame
  rawframes.py send-big IFACE SIZE      one well-formed frame of SIZE bytes (marked bad)
  rawframes.py capture IFACE SECONDS    count frames carrying the markers: prints "good=N bad=M"
  rawframes.py flood IFACE SECONDS      UDP frames with a new 5-tuple each, as fast as possible
                                        (bounded by SECONDS); prints "sent=N"
"""
import socket
import struct
import sys
import time

BCAST = b"\xff" * 6
SRC = b"\x02\x00\x00\x00\xaa\x01"
GOOD, BAD = b"FVGOOD", b"FVBAD"


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(payload, proto=17, ihl=5, total=None, fix=True):
    total = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, 0, 64, proto, 0,
                    bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    if fix:
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def eth(ethertype, body):
    return BCAST + SRC + struct.pack("!H", ethertype) + body


def malformed():
    good_ip = ipv4(udp(1000, 2000, BAD + b"x" * 20))
    bad_ihl = bytearray(good_ip)
    bad_ihl[0] = 0x44
    bad_csum = bytearray(good_ip)
    bad_csum[10] ^= 0xFF
    too_long = ipv4(udp(1000, 2000, BAD + b"x" * 20), total=400)
    short_tcp = ipv4(b"\x03\xe8\x07\xd0" + BAD, proto=6)
    return [
        ("bad IHL", eth(0x0800, bytes(bad_ihl))),
        ("bad header checksum", eth(0x0800, bytes(bad_csum))),
        ("total length beyond frame", eth(0x0800, too_long)),
        ("truncated TCP header", eth(0x0800, short_tcp)),
        # A truncated VLAN tag never reaches the switch over a veth: the kernel's receive path
        # (skb_vlan_untag) drops it first. flowtable's extract tests cover it.
    ]


def open_sock(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    return s


def main():
    cmd, iface = sys.argv[1], sys.argv[2]
    s = open_sock(iface)
    if cmd == "send-malformed":
        for _, f in malformed():
            s.send(f)
        s.send(eth(0x0800, ipv4(udp(1000, 2000, GOOD + b"y" * 20))))
        print(len(malformed()))
    elif cmd == "send-big":
        # One frame of SIZE bytes (good headers, marked bad): too big for the output port.
        size = int(sys.argv[3])
        payload = BAD + b"j" * (size - 14 - 20 - 8 - len(BAD))
        s.send(eth(0x0800, ipv4(udp(1000, 2000, payload))))
        print(1)
    elif cmd == "capture":
        end = time.time() + float(sys.argv[3])
        good = bad = 0
        s.settimeout(0.1)
        while time.time() < end:
            try:
                f = s.recv(65535)
            except socket.timeout:
                continue
            good += GOOD in f
            bad += BAD in f
        print("good=%d bad=%d" % (good, bad))
    elif cmd == "flood":
        end = time.time() + float(sys.argv[3])
        ip_hdr = ipv4(udp(0, 0, b"z" * 18))[:20]
        dst = bytes.fromhex(sys.argv[4].replace(":", "")) if len(sys.argv) > 4 else BCAST
        head = dst + SRC + b"\x08\x00" + ip_hdr
        n = 0
        while time.time() < end:
            for _ in range(256):
                n += 1
                s.send(head + struct.pack("!HHHH", n & 0xFFFF, (n >> 16) & 0xFFFF | 1024, 26, 0) + b"z" * 18)
        print("sent=%d" % n)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
