"""The host side of the serial protocol (docs/protocol.md)."""

from __future__ import annotations

import zlib

import pytest

from tfcompress.device.protocol import FrameReader, ProtocolError, escape, frame, parse, request, unescape


def test_request_frames_are_readable_and_checked():
    data = request("RUN", 7, "Turn on the lights")
    assert data == b"$RUN 7 Turn on the lights*%08X\n" % zlib.crc32(b"RUN 7 Turn on the lights")
    assert request("HELLO", 1).startswith(b"$HELLO 1*")
    with pytest.raises(ValueError):
        request("RUN", 0, "x")
    with pytest.raises(ValueError):
        request("REBOOT", 1)


@pytest.mark.parametrize("text", ["", "plain words", "50% off * $5", "naïve café 東京", "tab\there\nnewline\r\x00",
                                  "%41 is not A"])
def test_escape_round_trip(text):
    escaped = escape(text.encode())
    assert all(0x20 <= ord(c) < 0x7F for c in escaped) and not set(escaped) & {"$", "*", "\n"}
    assert unescape(escaped) == text.encode()


def test_parse_fields_and_errors():
    message = parse(frame("OUT", 12, "intent=3 label=Play%20Music count=5120 scores=-1,2,-128")[1:-1])
    assert (message.verb, message.id) == ("OUT", 12)
    assert message.integer("count") == 5120 and message.integers("scores") == [-1, 2, -128]
    assert message.text("label") == "Play Music"
    good = frame("OUT", 1, "a=1")[1:-1]
    for bad in (good[:-1] + b"0" if good[-1:] != b"0" else good[:-1] + b"1", good[:-9], b"OUT 1 a=1*XYZXYZXY",
                frame("OUT", 1, "novalue")[1:-1]):
        with pytest.raises(ProtocolError):
            parse(bad)
    with pytest.raises(ProtocolError, match="not a number"):
        parse(frame("OUT", 1, "count=abc")[1:-1]).integer("count")


def test_frame_reader_resynchronises_after_garbage():
    reader = FrameReader(line_max=64)
    one, two = frame("OUT", 1, "a=1"), frame("OUT", 2, "b=2")
    lines = reader.feed(b"boot noise\r\n" + one[:5] + b"\x00\xff" + one + b"junk" + b"$" + b"x" * 100 + b"\n" + two)
    assert [parse(line).id for line in lines] == [1, 2]
    assert reader.dropped > 0
    # a frame split across reads
    assert reader.feed(one[:4]) == [] and [parse(x).id for x in reader.feed(one[4:])] == [1]
