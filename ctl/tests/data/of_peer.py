#!/usr/bin/env python3
"""Misbehaving OpenFlow peers for ferrovsd's fault tests (stdlib only, OpenFlow 1.3 bytes).

  of_peer.py flood UNIX_PATH SECONDS      connect, HELLO, then send echo requests and the same
                                          flow_mod over and over without ever reading; prints
                                          "sent=N closed=yes|no" (closed: the switch hung up)
  of_peer.py listen PORT SECONDS          a controller that accepts, answers HELLO, and hangs up
                                          at once, for SECONDS; prints one line per connection
                                          with its time offset: "conn T"
"""
import socket
import struct
import sys
import time


def header(msg_type, length, xid):
    return struct.pack("!BBHI", 4, msg_type, length, xid)


HELLO = header(0, 8, 1)


def echo(xid):
    return header(2, 16, xid) + b"flooding"


def flow_mod(xid):
    # OFPT_FLOW_MOD: add, table 0, priority 7, empty OXM match, apply-actions output:1.
    body = struct.pack("!QQBBHHHIIIH2x", 0, 0, 0, 0, 0, 0, 7, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    match = struct.pack("!HH4x", 1, 4)
    action = struct.pack("!HHIH6x", 0, 16, 1, 0)
    instr = struct.pack("!HH4x", 4, 8 + len(action)) + action
    msg = body + match + instr
    return header(14, 8 + len(msg), xid) + msg


def flood(path, seconds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(HELLO)
    s.settimeout(2)
    end = time.time() + seconds
    sent, closed, xid = 0, False, 2
    burst = b"".join(echo(xid + i) + flow_mod(xid + i) for i in range(64))
    while time.time() < end:
        try:
            s.sendall(burst)
            sent += 128
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        except socket.timeout:
            # The switch stopped reading (backpressure): keep trying until it hangs up.
            continue
    print("sent=%d closed=%s" % (sent, "yes" if closed else "no"))


def listen(port, seconds):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    srv.settimeout(0.2)
    start = time.time()
    print("listening", flush=True)
    while time.time() < start + seconds:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        print("conn %.2f" % (time.time() - start), flush=True)
        try:
            c.sendall(HELLO)
            c.settimeout(0.5)
            c.recv(64)
        except OSError:
            pass
        c.close()


if __name__ == "__main__":
    if sys.argv[1] == "flood":
        flood(sys.argv[2], float(sys.argv[3]))
    elif sys.argv[1] == "listen":
        listen(int(sys.argv[2]), float(sys.argv[3]))
    else:
        sys.exit("unknown command")
