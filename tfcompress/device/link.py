"""A serial link to a board running the harness: pyserial (a /dev/tty... port or, for QEMU, a
socket:// URL), with a deadline on every wait, bounded retries and detection of resets."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, fields

from tfcompress.device.protocol import PROTOCOL_VERSION, FrameReader, Message, ProtocolError, parse, request
from tfcompress.errors import TfcompressError


class DeviceError(TfcompressError):
    """The board could not be reached, stopped answering, reset or refused a request."""


class DeviceTimeout(DeviceError):
    pass


class DeviceReset(DeviceError):
    """The board sent a banner in the middle of a run: it restarted."""

    def __init__(self, message: str, banner: "Banner"):
        super().__init__(message)
        self.banner = banner


@dataclass(frozen=True)
class Banner:
    """What the board announces at start (and in answer to HELLO)."""

    protocol: int
    model: str
    backend: str
    board: str
    core: str
    clock: int
    counter: str
    dsp: int
    flash: int
    ram: int
    arena: int
    labels: int
    max_length: int
    text_max: int
    layers: int

    @classmethod
    def from_message(cls, message: Message) -> "Banner":
        if message.integer("protocol") != PROTOCOL_VERSION:
            raise DeviceError(f"the board speaks protocol version {message.fields.get('protocol')}; this host "
                              f"speaks {PROTOCOL_VERSION}: build the firmware again with this tfcompress")
        if "error" in message.fields:
            detail = message.text("detail") if "detail" in message.fields else None
            raise DeviceError(f"the board's backend did not start (status {message.fields['error']}"
                              + (f": {detail})" if detail else ")"))
        values = {}
        for f in fields(cls):
            if f.name not in message.fields:
                raise ProtocolError(f"the banner has no {f.name!r} field")
            values[f.name] = message.integer(f.name) if f.type == "int" else message.fields[f.name]
        return cls(**values)


def describe_port_problem(text: str) -> str:
    """What an error opening a serial port means, from pyserial's or the tool's words."""
    if "Errno 2]" in text or "No such file" in text:
        return "no such serial port: is the board plugged in?"
    if "Errno 16]" in text or ("busy" in text.lower() and "doesn't exist" not in text):
        return "the port is busy: close the program using it (a serial monitor, another tfcompress) and try again"
    if "Errno 13]" in text or "Permission denied" in text:
        return ("permission denied: on Linux add yourself to the group owning the port (`sudo usermod -aG dialout "
                "$USER`, then log in again)")
    if "Inappropriate ioctl" in text or "Errno 25]" in text:
        return "not a serial port"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reasons = [line for line in lines if "Errno" in line] or lines
    return "cannot open it: " + (reasons[-1] if reasons else "(no reason given)")


class DeviceLink:
    """Requests and replies over one serial port. Every wait has a deadline; a request whose reply is
    lost or garbled is sent again (`retries` times) with a new id, so a late reply is never
    mistaken for the answer to a later request."""

    def __init__(self, port, timeout: float = 10.0, retries: int = 2):
        self.port, self.timeout, self.retries = port, timeout, retries
        self.reader = FrameReader()
        self.bad_frames = 0
        self._pending: list[bytes] = []
        self._ids = itertools.count(1)

    @classmethod
    def open(cls, url: str, baudrate: int = 115200, **kwargs) -> "DeviceLink":
        import serial

        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05, write_timeout=5)
        except (serial.SerialException, OSError, ValueError) as err:
            if "://" not in url:  # a board's serial port, not QEMU's socket
                raise DeviceError(f"cannot open serial port {url}: {describe_port_problem(str(err))}") from None
            raise DeviceError(f"cannot open {url}: {err}") from None
        return cls(port, **kwargs)

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # a port that is already gone
            pass

    def _next_id(self) -> int:
        return next(self._ids) % 999_999_999 + 1

    def read_message(self, deadline: float) -> Message:
        """The next well-formed frame before `deadline` (time.monotonic); garbage and frames with a bad
        checksum are skipped and counted."""
        import serial

        while True:
            while self._pending:
                line = self._pending.pop(0)
                try:
                    return parse(line)
                except ProtocolError:
                    self.bad_frames += 1
            if time.monotonic() >= deadline:
                raise DeviceTimeout("the board did not answer in time")
            try:
                data = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError) as err:
                raise DeviceError(f"the serial line failed: {err}") from None
            self._pending.extend(self.reader.feed(data))

    def send(self, data: bytes) -> None:
        import serial

        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"the serial line failed: {err}") from None

    def handshake(self, timeout: float | None = None, hello_after: float = 1.0) -> Banner:
        """Waits for the banner, asking for it (HELLO, every `hello_after` seconds) when the board started
        before we listened or its banner was lost (opening a port may drop bytes already received)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        hello_ids: set[int] = set()
        while True:
            try:
                message = self.read_message(min(deadline, time.monotonic() + hello_after))
            except DeviceTimeout:
                if time.monotonic() >= deadline:
                    raise DeviceTimeout(f"no banner from the board within {timeout or self.timeout:g} s: is the "
                                        "firmware running and the port right?") from None
                hello_ids.add(self._next_id())
                self.send(request("HELLO", max(hello_ids)))
                continue
            if message.verb == "BANNER" and (message.id == 0 or message.id in hello_ids):
                return Banner.from_message(message)

    def request(self, verb: str, text: str | None = None, timeout: float | None = None) -> Message:
        """Sends a request and returns its reply (ERR replies raise DeviceError). A banner in between
        means the board reset: DeviceReset."""
        last = None
        for _ in range(self.retries + 1):
            request_id = self._next_id()
            self.send(request(verb, request_id, text))
            deadline = time.monotonic() + (timeout or self.timeout)
            try:
                while True:
                    message = self.read_message(deadline)
                    if message.verb == "BANNER" and message.id == 0:
                        raise DeviceReset("the board restarted (it sent its banner again)",
                                          Banner.from_message(message))
                    code = message.fields.get("code", "?")
                    if message.verb == "ERR" and message.id == 0 and code in ("crc", "too-long"):
                        # our frame was damaged on the way (the board cannot trust its id): send it again
                        last = DeviceError(f"{verb}: the board received a damaged frame ({code}) "
                                           f"{self.retries + 1} times")
                        break
                    if message.id != request_id:
                        continue  # a late answer to an earlier try, or the board's own message
                    if message.verb == "ERR":
                        detail = ", ".join(f"{k}={message.text(k)}" for k in message.fields if k != "code")
                        raise DeviceError(f"the board refused {verb} {request_id}: {code}"
                                          + (f" ({detail})" if detail else ""))
                    return message
            except DeviceTimeout:
                last = DeviceTimeout(f"no answer to {verb} within {timeout or self.timeout:g} s "
                                     f"({self.retries + 1} tries)")
        raise last
