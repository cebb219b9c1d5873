"""The harness core (firmware/harness) on the host, under AddressSanitizer and UBSan.

- firmware/harness/tests/fuzz_protocol.c drives the protocol (line reader, request parser, reply
  writer) and the on-device tokenizer through a million random and mutated frames against the
  reference implementations it carries.
- The whole harness, built with the host port (firmware/ports/host: stdin/stdout as the serial
  line) and the tiny pooled bundle's generated C, is driven through tfcompress.device.protocol:
  every malformed input gets its documented ERR code or is ignored as garbage, the board
  resynchronises, RUN answers equal the integer reference and TOK ids the Python tokenizer.
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from tfcompress.device.protocol import LINE_MAX, FrameReader, Message, crc32, frame, parse, request
from tfcompress.tokenizer import WordTokenizer, split_words

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
HARNESS = FIRMWARE / "harness"
SANITIZE = ["-g", "-O2", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
FUZZ_FRAMES = 1_000_000
TEXT_MAX = 512


def _compiler() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("no C compiler: ./setup.sh installs gcc")
    return cc


def _compile(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"


# -- the fuzzer ---------------------------------------------------------------------------------------

# A small vocabulary with what the tokenizer must get right: prefixes of each other, digits, UTF-8
# words, a long word; max_length 8, so texts often have more words than that.
FUZZ_VOCAB = ("the", "on", "turn", "lights", "off", "play", "music", "weather", "in", "one", "only", "o", "a",
              "5", "42", "2024", "münchen", "café", "日本", "x" * 40, "rock", "jazz", "paris", "kitchen", "what",
              "s", "is", "timer", "minute", "i", "z")
FUZZ_MAX_LENGTH = 8


@pytest.fixture(scope="module")
def fuzz_binary(tmp_path_factory) -> Path:
    from converters.c_arrays import tokenizer_files
    from tfcompress.tokenizer import OOV_ID, PAD_ID, RESERVED

    work = tmp_path_factory.mktemp("fuzz")
    for file in tokenizer_files(FUZZ_VOCAB, FUZZ_MAX_LENGTH, PAD_ID, OOV_ID, RESERVED):
        (work / file.name).write_text(file.text)
    _compile([_compiler(), *STRICT, *SANITIZE, "-I", str(HARNESS / "include"), "-I", ".",
              str(HARNESS / "src" / "tfc_protocol.c"), str(HARNESS / "src" / "tfc_tokenizer.c"), "tokenizer_data.c",
              str(HARNESS / "tests" / "fuzz_protocol.c"), "-o", "fuzz_protocol"], work)
    return work / "fuzz_protocol"


def test_a_million_random_and_mutated_frames(fuzz_binary, tmp_path):
    tokens = tmp_path / "tokens.txt"
    result = subprocess.run([str(fuzz_binary), str(FUZZ_FRAMES), "20240521", str(tokens)], check=False,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stderr == ""  # no sanitizer report, no mismatch
    stats = {k: int(v) for k, v in re.findall(r"([a-z_-]+)=(\d+)", result.stdout)}
    assert stats["frames"] == FUZZ_FRAMES
    # Every path was taken, often.
    assert stats["valid_frames_checked"] > FUZZ_FRAMES // 4
    for code in ("ok", "crc", "syntax", "bad-id", "verb", "too-long"):
        assert stats[code] > 10_000, (code, stats)
    assert stats["events_too_long"] > 5_000
    assert stats["texts_tokenized"] > 100_000 and stats["texts_over_max_length"] > 10_000
    assert stats["ids_in_vocabulary"] > 100_000
    assert stats["replies"] > FUZZ_FRAMES and stats["replies_truncated"] > 5_000

    # The C tokenizer on the fuzzer's texts (the valid UTF-8 ones) equals the Python one.
    tokenizer = WordTokenizer(FUZZ_VOCAB, FUZZ_MAX_LENGTH)
    compared = 0
    for line in tokens.read_text().splitlines():
        text_hex, words, ids = line.split(" ")
        try:
            text = bytes.fromhex(text_hex).decode("utf-8")
        except UnicodeDecodeError:
            continue
        assert int(words) == len(split_words(text)), text
        assert [int(i) for i in ids.split(",")] == tokenizer.encode(text).tolist(), text
        compared += 1
    assert compared > 5_000


# -- the harness with the host port -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def host_firmware(pooled_bundle, tmp_path_factory) -> dict:
    """The harness + host port + kernels + the pooled bundle's generated C, built with sanitizers."""
    from converters.generated_c import generate_c
    from tfcompress.device.build import build_info_header
    from tfcompress.device.profiles import load_profile

    work = tmp_path_factory.mktemp("host_firmware")
    generated = work / "generated"
    generated.mkdir()
    model = (pooled_bundle / "model.tflite").read_bytes()
    sha = hashlib.sha256(model).hexdigest()
    c = generate_c(model)
    (generated / "tfc_model.c").write_text(c.source)
    (generated / "tfc_model.h").write_text(c.header)
    (generated / "tfc_build_info.h").write_text(build_info_header(load_profile("qemu-mps2-an386"), sha))
    for name in ("tokenizer_data.h", "tokenizer_data.c", "labels_data.h", "labels_data.c"):
        shutil.copyfile(pooled_bundle / name, generated / name)
    includes = [f"-I{d}" for d in (FIRMWARE / "kernels" / "include", FIRMWARE / "kernels" / "src",
                                   HARNESS / "include", HARNESS / "src", generated)]
    sources = [*sorted(str(p) for p in (FIRMWARE / "kernels" / "src").glob("*.c")),
               *(str(HARNESS / "src" / name) for name in ("tfc_harness.c", "tfc_protocol.c", "tfc_tokenizer.c",
                                                          "backend_generated_c.c")),
               *(str(FIRMWARE / "ports" / "host" / name) for name in ("port.c", "main.c")),
               *(str(generated / name) for name in ("tfc_model.c", "tokenizer_data.c", "labels_data.c"))]
    _compile([_compiler(), *STRICT, *SANITIZE, "-DTFC_USE_DSP=0", "-DTFC_PROFILE", "-DTFC_PROFILE_USER_HEADER",
              *includes, *sources, "-o", "firmware"], work)
    operators = int(re.search(r"#define TFC_MODEL_OPERATOR_COUNT (\d+)", c.header).group(1))
    return {"binary": work / "firmware", "model": model, "sha": sha, "arena": c.arena_bytes,
            "operators": operators, "tokenizer": WordTokenizer.load(pooled_bundle / "tokenizer.json"),
            "labels": json.loads((pooled_bundle / "labels.json").read_text())}


class HostBoard:
    """The host build as a board: bytes to its stdin, frames from its stdout (a thread drains it so a
    full pipe never stalls the board), every wait bounded."""

    def __init__(self, binary: Path):
        self.process = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self.reader = FrameReader()
        self.lines: queue.Queue = queue.Queue()
        self.stderr = bytearray()
        self._threads = [threading.Thread(target=self._pump_stdout, daemon=True),
                         threading.Thread(target=self._pump_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _pump_stdout(self):
        while True:
            data = self.process.stdout.read1(65536)
            if not data:
                self.lines.put(None)
                return
            for line in self.reader.feed(data):
                self.lines.put(line)

    def _pump_stderr(self):
        while True:
            data = self.process.stderr.read1(65536)
            if not data:
                return
            self.stderr += data

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def message(self, timeout: float = 60) -> Message:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no frame from the board within {timeout} s") from None
        assert line is not None, f"the board closed its output: {self.stderr.decode(errors='replace')[-4000:]}"
        return parse(line)

    def ask(self, data: bytes, timeout: float = 60) -> Message:
        self.send(data)
        return self.message(timeout)

    def close(self, timeout: float = 60) -> int:
        """Closes the line (EOF on stdin): the host port then returns from main."""
        self.process.stdin.close()
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)
            raise AssertionError(f"the board did not exit within {timeout} s of EOF") from None
        for thread in self._threads:
            thread.join(timeout=timeout)
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:  # a test that failed before closing the line
            self.process.kill()
            self.process.wait(timeout=60)


def _session(host_firmware) -> HostBoard:
    board = HostBoard(host_firmware["binary"])
    banner = board.message()
    assert (banner.verb, banner.id) == ("BANNER", 0)
    return board


def _finish(board: HostBoard) -> None:
    code = board.close()
    leftover = []
    while not board.lines.empty():
        line = board.lines.get_nowait()
        if line is not None:
            leftover.append(line)
    assert code == 0 and not board.stderr, board.stderr.decode(errors="replace")[-4000:]
    assert leftover == []  # every frame was an answer the test expected
    assert board.reader.dropped == 0  # nothing but frames on the board's output


def test_the_banner_comes_first(host_firmware):
    with HostBoard(host_firmware["binary"]) as board:
        banner = board.message()
        assert (banner.verb, banner.id) == ("BANNER", 0)
        assert banner.integer("protocol") == 1
        assert banner.fields["model"] == host_firmware["sha"]
        assert banner.fields["backend"] == "c" and banner.fields["counter"] == "ns"
        assert banner.fields["board"] == "qemu-mps2-an386" and banner.fields["core"] == "cortex-m4"
        assert banner.integer("dsp") == 0 and banner.integer("flash") == 0 and banner.integer("ram") == 0
        assert banner.integer("arena") == host_firmware["arena"]
        assert banner.integer("labels") == len(host_firmware["labels"])
        assert banner.integer("max_length") == host_firmware["tokenizer"].max_length
        assert banner.integer("text_max") == TEXT_MAX
        assert banner.integer("layers") == host_firmware["operators"]
        assert "error" not in banner.fields
        # HELLO answers the banner again, under the request's id; STATS the memory figures.
        again = board.ask(request("HELLO", 7))
        assert (again.verb, again.id) == ("BANNER", 7) and again.fields["model"] == host_firmware["sha"]
        stats = board.ask(request("STATS", 999_999_999))
        assert (stats.verb, stats.id) == ("STATS", 999_999_999)
        assert [stats.integer(k) for k in ("flash", "ram", "stack")] == [0, 0, 0]
        assert stats.integer("arena") == host_firmware["arena"]
        assert len(stats.fields["layer_names"].split(",")) == host_firmware["operators"]
        _finish(board)


def _raw(body: bytes, crc: int | None = None) -> bytes:
    """A frame of any bytes, its checksum right unless `crc` is given."""
    return b"$" + body + b"*%08X\n" % (crc32(body) if crc is None else crc)


def _frame_of_length(verb: str, request_id: int, length: int) -> bytes:
    """A TOK or RUN frame whose line ('$' and '\\n' excluded) is `length` bytes: 'a's, escaped as far as
    they go (a line of TFC_LINE_MAX bytes cannot hold a text of only TFC_TEXT_MAX bytes)."""
    room = length - len(f"{verb} {request_id} ") - 9
    data = frame(verb, request_id, "%61" * (room // 3) + "a" * (room % 3))
    assert len(data) == length + 2
    return data


# (what, bytes, the answer: (id, ERR code), or None where the bytes are garbage to ignore)
MALFORMED = [
    ("garbage", b"garbage bytes \x00\xff\x80 *DEADBEEF\r\n\n\n", None),
    ("a partial line", b"$TOK 5 the frame never ends", None),
    ("a '$' restarting a frame", b"$RUN 7 turn on th", None),  # the next request's '$' restarts
    ("a bad CRC", _raw(b"TOK 8 turn on", crc32(b"TOK 8 turn on") ^ 1), (0, "crc")),
    ("a CRC of 7 digits", b"$HELLO 9*" + b"%07X\n" % (crc32(b"HELLO 9") >> 4), (0, "crc")),
    ("a CRC not hex", b"$HELLO 9*0000000G\n", (0, "crc")),
    ("no CRC", b"$HELLO 9\n", (0, "crc")),
    ("an empty frame", b"$\n", (0, "crc")),
    ("no verb", b"$*00000000\n", (0, "syntax")),
    ("no id", _raw(b"HELLO"), (0, "syntax")),
    ("id 0", frame("HELLO", 0), (0, "bad-id")),
    ("id 1000000000", frame("HELLO", 1_000_000_000), (0, "bad-id")),
    ("id abc", _raw(b"TOK abc turn on"), (0, "bad-id")),
    ("an id of 10 digits", _raw(b"RUN 0000000012 turn on"), (0, "bad-id")),
    ("an empty id", _raw(b"TOK  turn on"), (0, "bad-id")),
    ("an unknown verb", frame("JUMP", 12), (12, "verb")),
    ("a lowercase verb", frame("hello", 13), (13, "verb")),
    ("HELLO with arguments", frame("HELLO", 14, "now"), (14, "verb")),
    ("STATS with an empty argument", _raw(b"STATS 15 "), (15, "verb")),
    ("an overlong line", b"$" + b"A" * 2000 + b"\n", (0, "too-long")),
    ("an overlong request", frame("TOK", 16, "a" * 1700), (0, "too-long")),
    ("a line of TFC_LINE_MAX bytes", _frame_of_length("TOK", 16, LINE_MAX), (16, "too-long")),  # the text
    ("a line of TFC_LINE_MAX + 1 bytes", _frame_of_length("TOK", 16, LINE_MAX + 1), (0, "too-long")),
    ("a text of 513 bytes", request("TOK", 17, "a" * (TEXT_MAX + 1)), (17, "too-long")),
    ("an escaped text of 513 bytes", frame("RUN", 18, "%41" * (TEXT_MAX + 1)), (18, "too-long")),
    ("a bad escape", frame("TOK", 19, "turn%4"), (19, "syntax")),
    ("an escape not hex", frame("TOK", 19, "turn%zzon"), (19, "syntax")),
    ("a '%' at the end", frame("RUN", 19, "turn on%"), (19, "syntax")),
    ("a NUL byte", _raw(b"TOK 20 turn\x00on"), (20, "syntax")),
    ("a 0xFF byte", _raw(b"RUN 21 turn\xffon"), (21, "syntax")),
    ("a '*' in the text", _raw(b"TOK 22 a*b"), (22, "syntax")),
    ("a tab in the text", _raw(b"TOK 22 a\tb"), (22, "syntax")),
    ("NUL and 0xFF bytes between frames", b"\x00\xff\x00\xff\n\xff", None),
]


def _check_answer(host_firmware, message: Message, verb: str, request_id: int, text: str | None):
    tokenizer = host_firmware["tokenizer"]
    if verb == "TOK":
        assert (message.verb, message.id) == ("TOK", request_id), message
        assert message.integer("words") == len(split_words(text)), text
        assert message.integers("ids") == tokenizer.encode(text).tolist(), text
    elif verb == "RUN":
        assert (message.verb, message.id) == ("OUT", request_id), message
        expected = _reference(host_firmware).invoke(tokenizer.encode(text))
        assert message.integers("scores") == expected.tolist(), text
        intent = int(np.argmax(expected))
        assert message.integer("intent") == intent
        assert message.text("label") == host_firmware["labels"][intent]
        assert message.integer("count") >= 0
        assert len(message.integers("layers")) == host_firmware["operators"]
    elif verb == "HELLO":
        assert (message.verb, message.id) == ("BANNER", request_id) and message.fields["model"] == host_firmware["sha"]
    else:
        assert (message.verb, message.id) == ("STATS", request_id), message


_RUNNERS: dict = {}


def _reference(host_firmware):
    from tfcompress.interpreters import Int8Runner, golden_for

    key = host_firmware["sha"]
    if key not in _RUNNERS:
        _RUNNERS[key] = Int8Runner(host_firmware["model"], golden_for(host_firmware["model"]))
    return _RUNNERS[key]


PROBES = [("TOK", "turn on the kitchen lights"), ("RUN", "what is the weather in paris"), ("HELLO", None),
          ("STATS", None), ("RUN", "play some jazz music")]


@pytest.mark.parametrize("what, data, answer", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_is_answered_or_ignored_then_the_board_resynchronises(host_firmware, what, data, answer):
    with _session(host_firmware) as board:
        board.send(data)
        if answer is not None:
            error = board.message()
            assert (error.verb, error.id, error.fields.get("code")) == ("ERR", *answer), (what, error)
        # The next requests are answered as ever (an answer to garbage would come first and fail here).
        for k, (verb, text) in enumerate(PROBES):
            _check_answer(host_firmware, board.ask(request(verb, 1000 + k, text)), verb, 1000 + k, text)
        _finish(board)


def test_all_malformed_input_in_one_stream(host_firmware):
    """Everything at once, each followed by a request: the answers come in order, none missing."""
    stream, expected = bytearray(), []
    for k, (what, data, answer) in enumerate(MALFORMED):
        verb, text = PROBES[k % len(PROBES)]
        stream += data + request(verb, 2000 + k, text)
        if answer is not None:
            expected.append(("ERR", answer))
        expected.append((verb, (2000 + k, text)))
    with _session(host_firmware) as board:
        board.send(bytes(stream))
        for kind, detail in expected:
            message = board.message()
            if kind == "ERR":
                assert (message.verb, message.id, message.fields.get("code")) == ("ERR", *detail)
            else:
                _check_answer(host_firmware, message, kind, *detail)
        _finish(board)


def test_frames_at_the_limits(host_firmware):
    """A text of exactly TFC_TEXT_MAX bytes (escaped or not), "\\r\\n", lowercase CRC digits, escaped
    literal bytes and leading zeros in the id are all taken."""
    with _session(host_firmware) as board:
        text = "turn on " * (TEXT_MAX // 8)
        assert len(text.encode()) == TEXT_MAX
        _check_answer(host_firmware, board.ask(request("RUN", 31, text)), "RUN", 31, text)
        escaped = frame("TOK", 999_999_999, "%6F%6E%20" * (TEXT_MAX // 3) + "%20%20")
        assert len(escaped) - 2 < LINE_MAX
        _check_answer(host_firmware, board.ask(escaped), "TOK", 999_999_999, "on " * (TEXT_MAX // 3) + "  ")
        crlf = request("TOK", 33, "Lights OFF")[:-1] + b"\r\n"
        _check_answer(host_firmware, board.ask(crlf), "TOK", 33, "Lights OFF")
        body = b"TOK 34 %6C%69ghts on"
        lowercase = b"$" + body + b"*%08x\n" % crc32(body)
        _check_answer(host_firmware, board.ask(lowercase), "TOK", 34, "lights on")
        _check_answer(host_firmware, board.ask(_raw(b"TOK 000000035 the")), "TOK", 35, "the")
        _check_answer(host_firmware, board.ask(_raw(b"TOK 36")), "TOK", 36, "")
        _check_answer(host_firmware, board.ask(_raw(b"RUN 37 ")), "RUN", 37, "")
        _finish(board)


def test_run_answers_equal_the_integer_reference(host_firmware, tiny_dataset):
    texts = [*tiny_dataset.test.texts, *tiny_dataset.valid.texts, "", "zzz unknown words only",
             "TURN ON THE KITCHEN LIGHTS", "weather weather weather weather weather " * 6]
    with _session(host_firmware) as board:
        board.send(b"".join(request("RUN", 100 + k, text) for k, text in enumerate(texts)))  # pipelined
        answers = [board.message() for _ in texts]
        for k, (text, message) in enumerate(zip(texts, answers)):
            _check_answer(host_firmware, message, "RUN", 100 + k, text)
        scores = {tuple(m.integers("scores")) for m in answers}
        assert len(scores) > 4  # the answers depend on the text: the comparison means something
        _finish(board)


def test_tok_ids_equal_the_python_tokenizer(host_firmware):
    tokenizer = host_firmware["tokenizer"]
    vocab = list(tokenizer.vocab)
    texts = [
        "", " ", " \t,.!?;:-_'\"()[]{}", "turn on the kitchen lights", "TURN ON THE KITCHEN LIGHTS",
        "TuRn oN tHe KiTcHeN", "what's the 5-minute timer?", "turn    on     the\t\tlights", "  leading and trailing  ",
        "MÜNCHEN münchen Café 日本語 😀 naïve", "é", "lights…on", "2024 5 42 007 3.14", "on" + "!" * 50 + "off",
        " ".join(vocab), " ".join(vocab[:3]) * 20, "x" * 300, "%41 %zz $ * = , %", "\x01turn\x7fon\x1b[0m",
        " ".join(["on"] * (tokenizer.max_length + 7)), " ".join(w.upper() for w in vocab[:tokenizer.max_length + 2]),
        "kitchen" * 60, "a" * TEXT_MAX, "\u00a0turn\u2019on\u3000lights",
    ]
    with _session(host_firmware) as board:
        for k, text in enumerate(texts):
            assert len(text.encode()) <= TEXT_MAX and len(request("TOK", 300 + k, text)) <= LINE_MAX + 2
            message = board.ask(request("TOK", 300 + k, text))
            _check_answer(host_firmware, message, "TOK", 300 + k, text)
            # and RUN on the same text equals the reference
            _check_answer(host_firmware, board.ask(request("RUN", 600 + k, text)), "RUN", 600 + k, text)
        _finish(board)
