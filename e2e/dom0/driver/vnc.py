"""One frame from a VNC server, as PNG: the e2e dom0's framebuffer proof.

A minimal RFB 3.8 client (security type None, raw encoding, 32-bit true
colour) and a PNG encoder on zlib; only the Python standard library, so
dom0 needs no VNC package. console-driver.py uses it to capture the
guest's text console from the device model's VNC server (the vfb of a
--vnc guest) and to print the PNG on the serial for the harness:

  XENIFY-E2E: LABEL: VNC-PNG <width> <height> <bytes> <crc32 hex>
  vnc-png| <base64, 76 characters a line>
  XENIFY-E2E: LABEL: VNC-PNG-END

Unit tests: vnc_test.py (run by the fast tier, e2e/vnc_test.go).
"""
import base64
import select
import socket
import struct
import sys
import time
import zlib


class RFBError(Exception):
    pass


def _recv(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RFBError("VNC server closed the connection (%d of %d bytes read)" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def _reason(sock):
    n = struct.unpack(">I", _recv(sock, 4))[0]
    return _recv(sock, n).decode("utf-8", "replace")


def handshake(sock):
    """Version, security None and ClientInit; returns (width, height, name)."""
    ver = _recv(sock, 12)
    if not ver.startswith(b"RFB ") or len(ver) != 12:
        raise RFBError("not a VNC server: it greets with %r" % ver)
    try:
        major, minor = int(ver[4:7]), int(ver[8:11])
    except ValueError:
        raise RFBError("not a VNC server: it greets with %r" % ver)
    if (major, minor) < (3, 8):
        raise RFBError("VNC server speaks RFB %d.%d; this client speaks 3.8" % (major, minor))
    sock.sendall(b"RFB 003.008\n")
    n = _recv(sock, 1)[0]
    if n == 0:
        raise RFBError("VNC server refused the connection: " + _reason(sock))
    types = list(_recv(sock, n))
    if 1 not in types:
        raise RFBError("VNC server offers security types %s but not None (1): a VNC password is set "
                       "(vncpasswd); this client does no VNC authentication" % types)
    sock.sendall(b"\x01")
    if struct.unpack(">I", _recv(sock, 4))[0] != 0:
        raise RFBError("VNC security handshake failed: " + _reason(sock))
    sock.sendall(b"\x01")  # ClientInit: shared
    w, h = struct.unpack(">HH", _recv(sock, 4))
    _recv(sock, 16)  # the server's pixel format; ours follows
    name = _recv(sock, struct.unpack(">I", _recv(sock, 4))[0]).decode("utf-8", "replace")
    # SetPixelFormat: 32 bits a pixel, depth 24, little endian, true
    # colour, red/green/blue max 255 at shifts 16/8/0: bytes B, G, R, X.
    sock.sendall(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
    sock.sendall(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: raw only
    return w, h, name


def request(sock, w, h, incremental):
    sock.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, w, h))


def read_message(sock, w, h, rgb):
    """Reads one server message; a FramebufferUpdate is painted into rgb
    (w*h*3 bytes). Returns the number of pixels painted."""
    t = _recv(sock, 1)[0]
    if t == 0:  # FramebufferUpdate
        nrect = struct.unpack(">xH", _recv(sock, 3))[0]
        painted = 0
        for _ in range(nrect):
            x, y, rw, rh, enc = struct.unpack(">HHHHi", _recv(sock, 12))
            if enc != 0:
                raise RFBError("VNC server sent encoding %d; only raw (0) was asked for" % enc)
            if x + rw > w or y + rh > h:
                raise RFBError("rectangle %dx%d+%d+%d outside the %dx%d screen" % (rw, rh, x, y, w, h))
            data = _recv(sock, rw * rh * 4)
            for row in range(rh):
                src = data[row * rw * 4:(row + 1) * rw * 4]
                off = ((y + row) * w + x) * 3
                line = bytearray(rw * 3)
                line[0::3] = src[2::4]
                line[1::3] = src[1::4]
                line[2::3] = src[0::4]
                rgb[off:off + rw * 3] = line
            painted += rw * rh
        return painted
    if t == 1:  # SetColourMapEntries: not used with true colour
        _, n = struct.unpack(">xHH", _recv(sock, 5))
        _recv(sock, 6 * n)
        return 0
    if t == 2:  # Bell
        return 0
    if t == 3:  # ServerCutText
        _recv(sock, 3)
        _recv(sock, struct.unpack(">I", _recv(sock, 4))[0])
        return 0
    raise RFBError("unknown VNC server message type %d" % t)


def capture(sock, settle=2.0):
    """Returns (width, height, rgb) of the screen: one full update, then
    the incremental updates that arrive within settle seconds (the
    server may hand out a frame it has not yet refreshed)."""
    w, h, _ = handshake(sock)
    rgb = bytearray(w * h * 3)
    request(sock, w, h, False)
    covered = 0
    while covered < w * h:
        covered += read_message(sock, w, h, rgb)
    end = time.monotonic() + settle
    request(sock, w, h, True)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            break
        if read_message(sock, w, h, rgb):
            request(sock, w, h, True)
    return w, h, bytes(rgb)


def png(w, h, rgb):
    """PNG of 8-bit RGB pixels (filter 0 on every row)."""
    stride = w * 3
    raw = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride] for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def emit(data, w, h, label, out=sys.stdout, pause=0.05):
    """Prints a PNG between the guest's markers (label: the guest's job
    label), base64 in 76-character lines; pauses every 8 lines (about
    14 KB/s, 115200 baud's pace) so Xen's serial buffer is never overrun
    (it drops characters when full)."""
    print("XENIFY-E2E: %s: VNC-PNG %d %d %d %08x" % (label, w, h, len(data), zlib.crc32(data) & 0xffffffff), file=out, flush=True)
    b = base64.b64encode(data).decode()
    for i in range(0, len(b), 76):
        print("vnc-png| " + b[i:i + 76], file=out, flush=True)
        if pause and (i // 76) % 8 == 7:
            time.sleep(pause)
    print("XENIFY-E2E: %s: VNC-PNG-END" % label, file=out, flush=True)


def connect(ports, host="127.0.0.1", timeout=30.0, rounds=30):
    """Connects to the first port that answers, trying them all once a
    second for up to rounds seconds (the server may still be starting)."""
    for r in range(rounds):
        errs = []
        for port in ports:
            try:
                s = socket.create_connection((host, port), timeout=timeout)
                return s, port
            except OSError as e:
                errs.append("%d: %s" % (port, e))
        if r < rounds - 1:
            time.sleep(1)
    raise RFBError("no VNC server on %s after %ds (%s)" % (host, rounds, "; ".join(errs[:3]) + (" ..." if len(errs) > 3 else "")))
