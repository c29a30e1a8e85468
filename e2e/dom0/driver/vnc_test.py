"""Tests of vnc.py against a scripted RFB server (python3 -m unittest
vnc_test, run by the fast tier's TestDriverPython)."""
import base64
import io
import socket
import struct
import threading
import unittest
import zlib

import vnc


def server(sock, w, h, pixel, security=(1,), split=True):
    """Plays an RFB 3.8 server: one full update of colour `pixel` with a
    white 2x2 square at (1, 1), in two rectangles when split."""
    sock.sendall(b"RFB 003.008\n")
    assert sock.recv(12) == b"RFB 003.008\n"
    sock.sendall(bytes([len(security)]) + bytes(security))
    if 1 not in security:
        return
    assert sock.recv(1) == b"\x01"
    sock.sendall(struct.pack(">I", 0))
    assert sock.recv(1) == b"\x01"
    sock.sendall(struct.pack(">HH", w, h) + bytes(16) + struct.pack(">I", 4) + b"test")
    buf = b""
    while len(buf) < 20 + 8 + 10:  # SetPixelFormat, SetEncodings(1), request
        buf += sock.recv(64)
    assert buf[0] == 0 and buf[4] == 32, buf[:20]
    assert buf[20] == 2 and struct.unpack(">H", buf[22:24])[0] == 1 and struct.unpack(">i", buf[24:28])[0] == 0
    assert buf[28] == 3 and buf[29] == 0, "want a full (non-incremental) request"

    def px(x, y):
        c = (255, 255, 255) if 1 <= x <= 2 and 1 <= y <= 2 else pixel
        return bytes([c[2], c[1], c[0], 0])  # B, G, R, X

    def rect(x, y, rw, rh):
        data = b"".join(px(x + i, y + j) for j in range(rh) for i in range(rw))
        return struct.pack(">HHHHi", x, y, rw, rh, 0) + data

    sock.sendall(b"\x02")  # a bell first: ignored
    if split:
        top = h // 2
        sock.sendall(struct.pack(">BxH", 0, 2) + rect(0, 0, w, top) + rect(0, top, w, h - top))
    else:
        sock.sendall(struct.pack(">BxH", 0, 1) + rect(0, 0, w, h))


def run(w, h, pixel, **kw):
    a, b = socket.socketpair()
    a.settimeout(10)  # a client that waits for more than the server sends fails, not hangs
    t = threading.Thread(target=server, args=(b, w, h, pixel), kwargs=kw)
    t.start()
    try:
        return vnc.capture(a, settle=0.2)
    finally:
        t.join()
        a.close()
        b.close()


def unpng(data):
    """Decodes vnc.png's output: (w, h, rgb); checks every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat = 8, b""
    w = h = None
    while i < len(data):
        n = struct.unpack(">I", data[i:i + 4])[0]
        kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + n]
        crc = struct.unpack(">I", data[i + 8 + n:i + 12 + n])[0]
        assert crc == zlib.crc32(kind + body) & 0xffffffff, kind
        if kind == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        i += 12 + n
    raw = zlib.decompress(idat)
    rows = [raw[y * (w * 3 + 1):(y + 1) * (w * 3 + 1)] for y in range(h)]
    assert all(r[0] == 0 for r in rows)
    return w, h, b"".join(r[1:] for r in rows)


class CaptureTest(unittest.TestCase):
    def test_frame(self):
        for split in (True, False):
            w, h, rgb = run(5, 4, (10, 20, 30), split=split)
            self.assertEqual((w, h), (5, 4))
            self.assertEqual(rgb[0:3], bytes([10, 20, 30]))  # R, G, B in that order
            self.assertEqual(rgb[(1 * 5 + 1) * 3:(1 * 5 + 1) * 3 + 3], b"\xff\xff\xff")
            self.assertEqual(rgb[(3 * 5 + 4) * 3:], bytes([10, 20, 30]))

    def test_password_refused(self):
        with self.assertRaisesRegex(vnc.RFBError, "password"):
            run(2, 2, (0, 0, 0), security=(2,))

    def test_not_vnc(self):
        a, b = socket.socketpair()
        b.sendall(b"SSH-2.0-Open\r\n")
        with self.assertRaisesRegex(vnc.RFBError, "not a VNC server"):
            vnc.handshake(a)
        a.close()
        b.close()


class PNGTest(unittest.TestCase):
    def test_roundtrip(self):
        rgb = bytes(range(256)) * 3 + bytes(24)
        data = vnc.png(8, 33, rgb[:8 * 33 * 3])
        self.assertEqual(unpng(data), (8, 33, rgb[:8 * 33 * 3]))

    def test_emit(self):
        data = vnc.png(3, 2, bytes(18))
        out = io.StringIO()
        vnc.emit(data, 3, 2, "g1", out=out, pause=0)
        lines = out.getvalue().splitlines()
        self.assertEqual(lines[0], "XENIFY-E2E: g1: VNC-PNG 3 2 %d %08x" % (len(data), zlib.crc32(data)))
        self.assertEqual(lines[-1], "XENIFY-E2E: g1: VNC-PNG-END")
        body = "".join(ln[len("vnc-png| "):] for ln in lines[1:-1])
        self.assertTrue(all(len(ln) <= len("vnc-png| ") + 76 for ln in lines[1:-1]))
        self.assertEqual(base64.b64decode(body), data)


if __name__ == "__main__":
    unittest.main()
