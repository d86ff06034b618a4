"""A libzmq peer shaped like Rogue's stream TCP bridge, for the interop tests.

usage: rogue_peer.py client|server HOST PORT COUNT

client: PUSH connects to PORT, PULL connects to PORT+1 (Rogue's TcpClient).
server: PULL binds PORT, PUSH binds PORT+1 (Rogue's TcpServer).
Both set the options Rogue sets (IMMEDIATE on PUSH, LINGER 0, a 100 ms
receive timeout on PULL).

It receives COUNT messages and sends each straight back, idles for a few
heartbeat periods (libzmq PINGs every 50 ms here), then sends the
malformed messages a Rogue receiver drops, then one good 4-part message
whose payload is b"end". It prints one JSON line per received message
(part sizes, hex of parts 0-2, crc32 of the payload) and exits when its
standard input closes.
"""
import json
import sys
import time
import zlib

import zmq


def main():
    mode, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.IMMEDIATE, 1)
    for s in (pull, push):
        s.setsockopt(zmq.LINGER, 0)
    pull.setsockopt(zmq.RCVTIMEO, 100)
    # Not Rogue's: libzmq sends PINGs and drops a connection that stays
    # silent, which on a PULL connection means one that never answers PONG.
    for s in (pull, push):
        s.setsockopt(zmq.HEARTBEAT_IVL, 50)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 200)
    if mode == "server":
        pull.bind("tcp://%s:%d" % (host, port))
        push.bind("tcp://%s:%d" % (host, port + 1))
    else:
        push.connect("tcp://%s:%d" % (host, port))
        pull.connect("tcp://%s:%d" % (host, port + 1))
    print(json.dumps({"ready": True}), flush=True)

    deadline = time.time() + 20
    seen = 0
    while seen < count and time.time() < deadline:
        try:
            parts = pull.recv_multipart()
        except zmq.Again:
            continue
        seen += 1
        print(json.dumps({
            "sizes": [len(p) for p in parts],
            "head": [p.hex() for p in parts[:3]],
            "crc": zlib.crc32(parts[-1]) if parts else 0,
        }), flush=True)
        push.send_multipart(parts)

    time.sleep(0.6)  # a few heartbeat timeouts: PONGs must keep us connected
    good = [b"\x01\x02", b"\x03", b"\x04"]
    push.send_multipart(good)                            # 3 parts
    push.send_multipart(good + [b"x", b"y"])             # 5 parts
    push.send_multipart([b"\x01", b"\x03", b"\x04", b"x"])  # 1-byte flags
    push.send_multipart([b"\x01\x02", b"\x03\x03", b"\x04", b"x"])  # 2-byte channel
    push.send_multipart([b"\x01\x02\x03", b"\x03", b"\x04", b"x"])  # 3-byte flags
    push.send_multipart([b"payload only"])                # 1 part
    push.send_multipart(good + [b"end"])
    print(json.dumps({"sent_tail": True}), flush=True)
    sys.stdin.read()
    pull.close()
    push.close()
    ctx.term()


if __name__ == "__main__":
    main()
