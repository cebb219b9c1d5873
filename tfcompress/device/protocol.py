"""The host side of the serial protocol (docs/protocol.md; the board's side is
firmware/harness/src/tfc_protocol.c): frames, CRC-32, escaping, parsing."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from tfcompress.errors import TfcompressError

PROTOCOL_VERSION = 1
ID_MAX = 999_999_999
LINE_MAX = 1600  # bytes of a request between '$' and '\n' the board accepts
REPLY_MAX = 2048
REQUESTS = ("HELLO", "TOK", "RUN", "STATS")
_LITERAL = frozenset(range(0x20, 0x7F)) - {ord("$"), ord("*"), ord("%")}


class ProtocolError(TfcompressError):
    """A frame that breaks the protocol (bad checksum, syntax, unexpected reply)."""


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def escape(data: bytes, extra: bytes = b"") -> str:
    """Printable ASCII stays (a serial monitor shows it); '$', '*', '%', `extra` and every other byte
    become %XX."""
    return "".join(chr(b) if b in _LITERAL and b not in extra else f"%{b:02X}" for b in data)


def unescape(text: str) -> bytes:
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "%":
            try:
                out.append(int(text[i + 1:i + 3], 16))
            except ValueError:
                raise ProtocolError(f"bad escape {text[i:i + 3]!r}") from None
            if len(text[i + 1:i + 3]) != 2:
                raise ProtocolError(f"bad escape {text[i:]!r}")
            i += 3
        else:
            out.append(ord(text[i]))
            i += 1
    return bytes(out)


def frame(verb: str, request_id: int, argument: str | None = None) -> bytes:
    """One frame: b'$VERB ID[ ARGUMENT]*CRC\\n'; `argument` must already be escaped."""
    body = f"{verb} {request_id}" + (f" {argument}" if argument is not None else "")
    data = body.encode("ascii")
    return b"$" + data + b"*%08X\n" % crc32(data)


def request(verb: str, request_id: int, text: str | None = None) -> bytes:
    if verb not in REQUESTS:
        raise ValueError(f"unknown request {verb!r}")
    if not 1 <= request_id <= ID_MAX:
        raise ValueError(f"request id {request_id} outside 1..{ID_MAX}")
    return frame(verb, request_id, None if text is None else escape(text.encode("utf-8")))


@dataclass(frozen=True)
class Message:
    """A frame from the board: verb, id (0: the board's own) and its key=value fields (still escaped)."""

    verb: str
    id: int
    fields: dict

    def text(self, key: str) -> str:
        return unescape(self.fields[key]).decode("utf-8", errors="replace")

    def integer(self, key: str) -> int:
        try:
            return int(self.fields[key])
        except (KeyError, ValueError):
            raise ProtocolError(f"{self.verb} {self.id}: field {key!r} is not a number: "
                                f"{self.fields.get(key)!r}") from None

    def integers(self, key: str) -> list[int]:
        value = self.fields.get(key, "")
        try:
            return [int(v) for v in value.split(",")] if value else []
        except ValueError:
            raise ProtocolError(f"{self.verb} {self.id}: field {key!r} is not a list of numbers: {value!r}") from None


def parse(line: bytes) -> Message:
    """A frame's line (the bytes after '$', without the newline), checked and split."""
    line = line.rstrip(b"\r")
    if len(line) < 9 or line[-9:-8] != b"*":
        raise ProtocolError(f"no checksum: {line[:80]!r}")
    body, crc_text = line[:-9], line[-8:]
    try:
        crc = int(crc_text, 16)
    except ValueError:
        raise ProtocolError(f"bad checksum {crc_text!r}") from None
    if crc != crc32(body):
        raise ProtocolError(f"checksum {crc_text.decode(errors='replace')} does not match: {line[:80]!r}")
    try:
        words = body.decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise ProtocolError(f"a byte outside ASCII: {line[:80]!r}") from None
    if len(words) < 2 or not words[1].isdigit():
        raise ProtocolError(f"no verb and id: {line[:80]!r}")
    fields = {}
    for word in words[2:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise ProtocolError(f"field {word!r} is not key=value: {line[:80]!r}")
        fields[key] = value
    return Message(words[0], int(words[1]), fields)


class FrameReader:
    """Splits the bytes from a board into frames: bytes outside a frame are dropped (and counted), a
    '$' always starts a new frame, so the reader resynchronises after garbage as the board does."""

    def __init__(self, line_max: int = REPLY_MAX * 2):
        self.line_max = line_max
        self._line: bytearray | None = None
        self.dropped = 0  # bytes outside frames, and bytes of cut or overlong frames

    def feed(self, data: bytes) -> list[bytes]:
        lines = []
        for byte in data:
            if byte == 0x24:  # '$'
                if self._line is not None:
                    self.dropped += len(self._line) + 1
                self._line = bytearray()
            elif self._line is None:
                self.dropped += 1
            elif byte == 0x0A:
                lines.append(bytes(self._line))
                self._line = None
            elif len(self._line) >= self.line_max:
                self.dropped += len(self._line) + 2
                self._line = None
            else:
                self._line.append(byte)
        return lines
