"""DeviceRunner: a board running the harness, as a tfcompress.runners.Runner."""

from __future__ import annotations

from tfcompress.device.build import Firmware
from tfcompress.device.link import Banner, DeviceError, DeviceLink
from tfcompress.runners import Inference, Runner
from tfcompress.errors import TfcompressError

import numpy as np


class DeviceRunner(Runner):
    """Sends utterances to a board and reads its answers; the board tokenises them itself.

    `DeviceRunner.start(firmware)` starts an emulated board (QEMU) or, with `port`, talks to a board
    on a serial port; either way the banner's model SHA-256 must be the firmware's."""

    def __init__(self, link: DeviceLink, banner: Banner, firmware: Firmware | None = None, board=None):
        self.link, self.banner, self.firmware, self.board = link, banner, firmware, board
        self.name = f"device:{banner.board}"
        self.counter_unit = banner.counter
        if firmware is not None and banner.model != firmware.model_sha256:
            self.close()
            raise TfcompressError(f"the board runs model {banner.model}, but {firmware.directory} was built for "
                                  f"{firmware.model_sha256}: flash this firmware first")
        stats = link.request("STATS")
        names = stats.fields.get("layer_names", "")
        self.layer_names = tuple(names.split(",")) if names else ()

    @classmethod
    def start(cls, firmware: Firmware, port: str | None = None, baudrate: int | None = None,
              timeout: float = 10.0) -> "DeviceRunner":
        profile = firmware.profile
        board = None
        try:
            if port is None:
                if not profile.emulated:
                    raise TfcompressError(f"{profile.name} is a real board: give its serial port (--port /dev/ttyACM0)")
                from tfcompress.device.qemu import QemuBoard

                board = QemuBoard(profile, firmware.elf).start()
                link = board.connect(timeout=timeout)
            else:
                link = DeviceLink.open(port, baudrate or profile.uart["baud"], timeout=timeout)
            banner = link.handshake()
            return cls(link, banner, firmware, board)
        except BaseException:
            if board is not None:
                board.stop()
            raise

    def _check_text(self, text: str) -> None:
        size = len(text.encode("utf-8"))
        if size > self.banner.text_max:
            raise TfcompressError(f"the utterance is {size} bytes; the board takes at most {self.banner.text_max}: "
                                  f"{text[:60]!r}...")

    def infer(self, text: str) -> Inference:
        self._check_text(text)
        reply = self.link.request("RUN", text)
        scores = np.array(reply.integers("scores"), dtype=np.int8)
        if len(scores) != self.banner.labels:
            raise DeviceError(f"RUN {reply.id}: {len(scores)} scores from a model with {self.banner.labels} labels")
        return Inference(scores, reply.integer("count"), tuple(reply.integers("layers")))

    def tokenize(self, text: str) -> np.ndarray:
        self._check_text(text)
        return np.array(self.link.request("TOK", text).integers("ids"), dtype=np.int32)

    def stats(self) -> dict:
        reply = self.link.request("STATS")
        return {k: reply.integer(k) for k in ("flash", "ram", "stack", "arena")}

    def close(self) -> None:
        self.link.close()
        if self.board is not None:
            self.board.stop()
