"""Tabs that watch pushed job events from several client processes, and record when each came.

On two cores a client's own costs show in what it measures (python-socketio's client starts a
thread per message), so the watchers run in several processes and, by default, speak the
Socket.IO wire protocol themselves: one thread per process, one non-blocking WebSocket per tab,
frames read as they come. ``kind="socketio"`` uses python-socketio's client instead, to compare.

Each process returns samples ``(job id, state, progress.ts, received)``: the worker's clock when
it made the update and the client's when the frame arrived (one machine, one clock).
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import selectors
import socket
import sys
import threading
import time

import websocket

Sample = tuple[str, str, float, float]
CHECK_STOP_S = 0.2


class Tab:
    """One Socket.IO connection (Engine.IO 4 over WebSocket) in the user's room."""

    def __init__(self, url: str, cookie: str) -> None:
        address = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(address, header=[f"Cookie: {cookie}"], timeout=30)
        opened = self.ws.recv()
        if not opened.startswith("0"):
            raise RuntimeError(f"unexpected Engine.IO open packet: {opened[:80]!r}")
        self.ws.send("40")
        answer = self.ws.recv()
        while answer.startswith("42"):  # an event sent on connect (the workers' greeting)
            answer = self.ws.recv()
        if not answer.startswith("40"):
            raise RuntimeError(f"namespace connect refused: {answer[:200]!r}")
        self.sock: socket.socket = self.ws.sock
        self.sock.setblocking(False)
        self.buffer = bytearray()
        self.partial = bytearray()
        self.sent = 0

    def read(self) -> list[str]:
        """Return the text messages that have arrived, reading all the socket holds."""
        while True:
            try:
                chunk = self.sock.recv(262144)
            except BlockingIOError:
                break
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
            if len(chunk) < 262144:
                break
        return self._frames()

    def _frames(self) -> list[str]:
        """Cut the complete WebSocket frames off the buffer (server frames are not masked)."""
        out, buf, i = [], self.buffer, 0
        while len(buf) - i >= 2:
            b0, size, head = buf[i], buf[i + 1] & 0x7F, 2
            if size == 126:
                if len(buf) - i < 4:
                    break
                size, head = int.from_bytes(buf[i + 2 : i + 4], "big"), 4
            elif size == 127:
                if len(buf) - i < 10:
                    break
                size, head = int.from_bytes(buf[i + 2 : i + 10], "big"), 10
            if len(buf) - i < head + size:
                break
            payload, opcode = buf[i + head : i + head + size], b0 & 0x0F
            i += head + size
            if opcode in (0, 1):
                self.partial += payload
                if b0 & 0x80:
                    out.append(self.partial.decode())
                    self.partial = bytearray()
            elif opcode == 8:
                raise ConnectionError("server sent a close frame")
        del buf[:i]
        return out

    def pong(self) -> None:
        """Answer the server's Engine.IO ping."""
        self.sock.setblocking(True)
        self.ws.send("3")
        self.sock.setblocking(False)
        self.sent += 1


def watch_wire(url: str, cookies: list[str], ready, control, out) -> None:
    """Open the tabs, report ready, record job events; send the samples when asked ("flush"),
    and a last time when told to stop."""
    try:
        tabs = [Tab(url, cookie) for cookie in cookies]
    except Exception as exc:  # told to the parent, which stops the run
        ready.put(f"error: {exc!r}")
        out.put({"samples": [], "events": 0, "client_messages": 0})
        return
    ready.put("ready")
    selector = selectors.DefaultSelector()
    for tab in tabs:
        selector.register(tab.sock, selectors.EVENT_READ, tab)
    samples: list[Sample] = []
    ids: dict[str, str] = {}
    events = 0
    next_check = time.monotonic() + CHECK_STOP_S
    while True:
        for key, _ in selector.select(CHECK_STOP_S):
            tab = key.data
            messages = tab.read()
            received = time.time()
            for text in messages:
                if text == "2":
                    tab.pong()
                elif text.startswith("42"):
                    name, payload = json.loads(text[2:])[:2]
                    events += 1
                    progress = payload.get("progress") if name == "job" else None
                    if progress:
                        job_id = ids.setdefault(payload["id"], payload["id"])
                        samples.append((job_id, payload["state"], progress["ts"], received))
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + CHECK_STOP_S
            try:
                command = control.get_nowait()
            except queue.Empty:
                continue
            sent = sum(tab.sent for tab in tabs)
            out.put({"samples": samples, "events": events, "client_messages": sent})
            samples, events = [], 0
            if command == "stop":
                break
    for tab in tabs:
        tab.ws.close()


def watch_socketio(url: str, cookies: list[str], ready, control, out) -> None:
    """The same with python-socketio's client (a thread per received message)."""
    import socketio

    samples: list[Sample] = []
    lock = threading.Lock()
    clients = []

    def on_job(payload):
        received = time.time()
        progress = payload.get("progress")
        if progress:
            with lock:
                samples.append((payload["id"], payload["state"], progress["ts"], received))

    try:
        for cookie in cookies:
            sio = socketio.Client(reconnection=False)
            sio.on("job", on_job)
            sio.connect(url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=30)
            clients.append(sio)
    except Exception as exc:  # told to the parent, which stops the run
        ready.put(f"error: {exc!r}")
        out.put({"samples": [], "events": 0, "client_messages": 0})
        return
    ready.put("ready")
    while True:
        command = control.get()
        with lock:
            out.put({"samples": samples[:], "events": len(samples), "client_messages": None})
            samples.clear()
        if command == "stop":
            break
    for sio in clients:
        sio.disconnect()


KINDS = {"wire": watch_wire, "socketio": watch_socketio}


class Watchers:
    """Tabs spread over several client processes; :meth:`collect` returns what they received
    since it was last called, :meth:`stop` the rest."""

    def __init__(self, url: str, cookies: list[str], processes: int = 4, kind: str = "wire"):
        context = multiprocessing.get_context("spawn")
        self.ready: multiprocessing.Queue = context.Queue()
        self.out: multiprocessing.Queue = context.Queue()
        self.opened = time.time()
        self.processes = []
        self.controls: list[multiprocessing.Queue] = []
        processes = max(1, min(processes, len(cookies)))
        for i in range(processes):
            target = KINDS[kind]
            self.controls.append(context.Queue())
            args = (url, cookies[i::processes], self.ready, self.controls[i], self.out)
            process = context.Process(target=target, args=args, daemon=True)
            process.start()
            self.processes.append(process)
        for _ in self.processes:
            try:
                answer = self.ready.get(timeout=120)
            except queue.Empty:
                answer = "error: a client process did not connect within 120 s"
            if answer != "ready":
                self.stop()
                raise RuntimeError(answer)

    def collect(self, command: str = "flush") -> dict:
        """Return the samples and counts received since the last call, merged."""
        for control in self.controls:
            control.put(command)
        merged = {"samples": [], "events": 0, "client_messages": 0}
        for _ in self.processes:
            try:
                part = self.out.get(timeout=60)
            except queue.Empty:
                print("a client process sent nothing back", file=sys.stderr)
                continue
            merged["samples"] += part["samples"]
            merged["events"] += part["events"]
            if part["client_messages"] is None:
                merged["client_messages"] = None
            elif merged["client_messages"] is not None:
                merged["client_messages"] += part["client_messages"]
        return merged

    def stop(self) -> dict:
        """Stop the clients and return what they received since the last collect."""
        merged = self.collect("stop")
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        self.processes, self.controls = [], []
        return merged
