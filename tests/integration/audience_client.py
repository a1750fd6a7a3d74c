"""A viewer of the audience channel (/ws, subprotocol sreda.v1) built on Debian's python3-websockets."""
import asyncio
import json

import websockets
from websockets.frames import Opcode

DEADLINE = 30.0  # generous: waits end as soon as the condition holds


class Viewer:
    """`source`: the local address to connect from (any 127.x.y.z: another client address on loopback);
    `token`: a viewer_token the server issued (sent with the join); `cookie`: a Cookie header for the upgrade."""

    def __init__(self, server, viewer_id, nick="Viewer", origin=None, source=None, token=None, cookie=None):
        self.server = server
        self.viewer_id = viewer_id  # the plain id an older client sends; the server issues the identity
        self.nick = nick
        self.origin = origin
        self.source = source
        self.token = token
        self.cookie = cookie
        self.identity = None  # the welcome's viewer_id
        self.messages = []  # every message received, in order
        self.ws = None

    async def connect(self):
        kw = {"local_addr": (self.source, 0)} if self.source else {}
        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(f"ws://127.0.0.1:{self.server.port}/ws", subprotocols=["sreda.v1"],
                                           origin=self.origin, open_timeout=DEADLINE, max_size=None,
                                           extra_headers=headers, **kw)
        return self

    async def join(self, event_id):
        m = {"type": "join", "event_id": event_id, "viewer_id": self.viewer_id, "nick": self.nick}
        if self.token:
            m["viewer_token"] = self.token
        await self.send(m)
        got = await self.expect(lambda m: m["type"] in ("welcome", "error"))
        if got["type"] == "welcome":
            self.identity = got.get("viewer_id")
            self.token = got.get("viewer_token", self.token)  # a new identity: kept for the next join
        return got

    async def send(self, message):
        await self.ws.send(json.dumps(message))

    async def send_raw_text(self, data: bytes):
        """A text frame with arbitrary bytes (e.g. invalid UTF-8), bypassing the library's encoding."""
        await self.ws.write_frame(True, Opcode.TEXT, data)

    async def expect(self, predicate, timeout=DEADLINE):
        """Returns the first message (already received or arriving) for which predicate holds."""
        for m in self.messages:
            if predicate(m) and not m.get("_seen"):
                m["_seen"] = True
                return m

        async def wait():
            while True:
                m = json.loads(await self.ws.recv())
                self.messages.append(m)
                if predicate(m):
                    m["_seen"] = True
                    return m
        return await asyncio.wait_for(wait(), timeout)

    async def closed(self, timeout=DEADLINE):
        """Reads until the server closes; returns (code, reason)."""
        async def wait():
            try:
                while True:
                    self.messages.append(json.loads(await self.ws.recv()))
            except websockets.ConnectionClosed as e:
                return e.code, e.reason
        return await asyncio.wait_for(wait(), timeout)

    async def close(self):
        if self.ws:
            await self.ws.close()


async def rate_once(server, event_id, viewer_id, stars, source=None):
    """A viewer on a fresh connection (from `source`) joins, gives `stars` and leaves: the server's answer to the
    rating ("rated", with "counted"), or the error that refused the join or the rating."""
    v = await Viewer(server, viewer_id, source=source).connect()
    try:
        joined = await v.join(event_id)
        if joined["type"] != "welcome":
            return joined
        await v.send({"type": "rate", "stars": stars})
        return await v.expect(lambda m: m["type"] in ("rated", "error"))
    finally:
        await v.close()
