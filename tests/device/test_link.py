"""DeviceLink against a scripted serial peer (a TCP socket pyserial opens as socket://): the faults a
board or a cable can produce, which a real board cannot be made to produce on demand. Every case
must end within its deadline with a clear error or the right answer."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tfcompress.device.link import DeviceError, DeviceLink, DeviceReset, DeviceTimeout
from tfcompress.device.protocol import FrameReader, frame

BANNER = ("protocol=1 model=ab backend=c board=test core=cortex-m4 clock=25000000 counter=instructions dsp=1 "
          "flash=1 ram=2 arena=3 labels=2 max_length=4 text_max=512 layers=0")


class ScriptedBoard:
    """Answers each request with `script(verb, id, text) -> bytes` (what the wire carries back)."""

    def __init__(self, script, banner: bool = True):
        self.script, self.banner = script, banner
        self.server = socket.create_server(("127.0.0.1", 0))
        self.requests: list[tuple[str, int]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.server.getsockname()[1]}"

    def _serve(self):
        conn, _ = self.server.accept()
        with conn:
            if self.banner:
                conn.sendall(frame("BANNER", 0, BANNER))
            reader = FrameReader()
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                for line in reader.feed(data):
                    verb, rid = line.split(b"*")[0].split(b" ")[:2]  # a request's text is not key=value
                    if verb == b"HELLO" and self.banner:  # the banner again (opening the port may drop it)
                        conn.sendall(frame("BANNER", int(rid), BANNER))
                        continue
                    self.requests.append((verb.decode(), int(rid)))
                    reply = self.script(verb.decode(), int(rid), len(self.requests))
                    if reply:
                        conn.sendall(reply)


def _out(request_id: int) -> bytes:
    return frame("OUT", request_id, "intent=1 label=x count=40 scores=-5,7")


def _link(board: ScriptedBoard, **kwargs) -> DeviceLink:
    link = DeviceLink.open(board.url, timeout=kwargs.pop("timeout", 1.0), **kwargs)
    link.handshake(timeout=2)
    return link


def test_garbage_and_bad_frames_are_skipped():
    def script(verb, rid, n):
        bad = bytearray(_out(rid))
        bad[5] ^= 1  # a flipped bit: the checksum no longer matches
        return b"\x00garbage\n" + bytes(bad) + b"$OUT 1" + _out(rid)

    link = _link(ScriptedBoard(script))
    assert link.request("RUN", "hello").integers("scores") == [-5, 7]
    assert link.bad_frames >= 1 and link.reader.dropped > 0


def test_silent_board_times_out_after_bounded_retries():
    board = ScriptedBoard(lambda verb, rid, n: b"")
    link = _link(board, timeout=0.3, retries=2)
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no answer to RUN within 0.3 s \\(3 tries\\)"):
        link.request("RUN", "hello")
    assert time.monotonic() - started < 3
    assert [verb for verb, _ in board.requests] == ["RUN"] * 3
    assert len({rid for _, rid in board.requests}) == 3  # every try has its own id


def test_late_answer_to_an_earlier_try_is_not_taken_for_a_later_one():
    replies = {}

    def script(verb, rid, n):
        if "first" not in replies:
            replies["first"] = rid
            return b""  # lost: the host retries
        return _out(replies["first"]) + frame("OUT", rid, "intent=0 label=y count=80 scores=9,-9")

    link = _link(ScriptedBoard(script), timeout=0.3)
    assert link.request("RUN", "hello").integers("scores") == [9, -9]


def test_board_reset_mid_run_is_reported():
    link = _link(ScriptedBoard(lambda verb, rid, n: frame("BANNER", 0, BANNER)))
    with pytest.raises(DeviceReset, match="restarted"):
        link.request("RUN", "hello")


def test_damaged_request_is_sent_again():
    link = _link(ScriptedBoard(lambda verb, rid, n: frame("ERR", 0, "code=crc") if n == 1 else _out(rid)))
    assert link.request("RUN", "hello").integer("count") == 40


def test_refusal_is_an_error_naming_the_code():
    link = _link(ScriptedBoard(lambda verb, rid, n: frame("ERR", rid, "code=model status=3")))
    with pytest.raises(DeviceError, match="refused RUN .*: model \\(status=3\\)"):
        link.request("RUN", "hello")


def test_handshake_asks_for_the_banner_and_has_a_deadline():
    board = ScriptedBoard(lambda verb, rid, n: frame("BANNER", rid, BANNER) if verb == "HELLO" else b"",
                          banner=False)  # a board that started before the host listened
    link = DeviceLink.open(board.url, timeout=1)
    assert link.handshake(timeout=3, hello_after=0.2).board == "test"
    mute = ScriptedBoard(lambda verb, rid, n: b"", banner=False)
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no banner"):
        DeviceLink.open(mute.url).handshake(timeout=0.5, hello_after=0.1)
    assert time.monotonic() - started < 2


def test_closed_port_is_a_clear_error():
    with pytest.raises(DeviceError, match="cannot open"):
        DeviceLink.open("socket://127.0.0.1:1")
