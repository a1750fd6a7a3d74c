"""A hostile SRT caller for the hostile campaign: libsrt itself (the OpenSSL flavour the server links), driven
through ctypes, so that many callers can start their handshakes at once from many loopback addresses."""
import ctypes
import socket
import struct
import time

SRTO_RCVSYN = 2
SRTO_SNDSYN = 1
SRTO_STREAMID = 46
SRTS_CONNECTING, SRTS_CONNECTED = 4, 5

_lib = None


def lib():
    global _lib
    if _lib is None:
        _lib = ctypes.CDLL("libsrt.so.1.5")
        _lib.srt_startup()
    return _lib


class SockaddrIn(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_ushort), ("addr", ctypes.c_ubyte * 4),
                ("zero", ctypes.c_ubyte * 8)]


def sockaddr(host, port):
    a = SockaddrIn()
    a.family = socket.AF_INET
    a.port = socket.htons(port)
    a.addr[:] = list(socket.inet_aton(host))
    return a


def handshake_flood(port, streamid, sources, per_source, deadline_s=15.0):
    """Starts per_source non-blocking SRT callers from each source address at once (streamid as given), waits
    until none is still connecting (or the deadline), closes them all. Returns (connected, refused)."""
    srt = lib()
    socks = []
    false = ctypes.c_int(0)
    sid = streamid.encode()
    for host in sources:
        for _ in range(per_source):
            s = srt.srt_create_socket()
            if s < 0:
                continue
            srt.srt_setsockflag(s, SRTO_RCVSYN, ctypes.byref(false), 4)
            srt.srt_setsockflag(s, SRTO_SNDSYN, ctypes.byref(false), 4)
            srt.srt_setsockflag(s, SRTO_STREAMID, sid, len(sid))
            local = sockaddr(host, 0)
            srt.srt_bind(s, ctypes.byref(local), ctypes.sizeof(local))
            remote = sockaddr("127.0.0.1", port)
            srt.srt_connect(s, ctypes.byref(remote), ctypes.sizeof(remote))
            socks.append(s)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and any(srt.srt_getsockstate(s) == SRTS_CONNECTING for s in socks):
        time.sleep(0.05)
    states = [srt.srt_getsockstate(s) for s in socks]
    for s in socks:
        srt.srt_close(s)
    connected = sum(1 for st in states if st == SRTS_CONNECTED)
    return connected, len(socks) - connected
