"""An emulated board: QEMU running the firmware, its UART on a local TCP port that pyserial opens
as socket://, the same host code path as a real board's /dev/tty... .

QEMU (qemu-system-arm for the Cortex-M port, qemu-system-riscv32 for the RISC-V one) runs with
`-icount shift=0`: every instruction takes 1 ns of virtual time, so SysTick on the board's clock
and RISC-V's minstret count instructions (the profile's counter scale), deterministically. The
process is always reaped: on close, on errors, on Ctrl-C, and (PR_SET_PDEATHSIG) when Python
itself is killed.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import socket
import subprocess
import threading
import time
import weakref
from pathlib import Path

from tfcompress.device.elf import MemoryUse, memory_use
from tfcompress.device.link import DeviceError, DeviceLink
from tfcompress.device.profiles import DeviceProfile
from tfcompress.errors import TfcompressError

QEMU = {"cortex_m": "qemu-system-arm", "riscv": "qemu-system-riscv32"}  # per port
QEMU_PACKAGES = {"qemu-system-arm": "qemu-system-arm", "qemu-system-riscv32": "qemu-system-misc"}
_running: "weakref.WeakSet[QemuBoard]" = weakref.WeakSet()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_command(profile: DeviceProfile, elf: Path, port: int) -> list[str]:
    return [QEMU[profile.port], "-machine", profile.run["machine"], "-display", "none", "-monitor", "none",
            "-icount", "shift=0", *profile.run.get("args", []), "-kernel", str(elf),
            "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on"]


class QemuBoard:
    """QEMU running `elf` as `profile`'s board; `url` is its UART for pyserial."""

    def __init__(self, profile: DeviceProfile, elf: str | Path, start_timeout: float = 20.0):
        if not profile.emulated:
            raise TfcompressError(f"{profile.name} is not an emulated board")
        qemu = QEMU[profile.port]
        if shutil.which(qemu) is None:
            raise TfcompressError(f"{qemu} is not installed: run ./setup.sh, or apt-get install {QEMU_PACKAGES[qemu]}")
        self.profile, self.elf, self.start_timeout = profile, Path(elf), start_timeout
        self.process: subprocess.Popen | None = None
        self.memory: MemoryUse | None = None
        self.port = 0
        self._stderr: list[bytes] = []

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def start(self) -> "QemuBoard":
        """Loads the firmware, refused (FitError, with the numbers) when its sections do not fit the board."""
        self.memory = memory_use(self.elf, self.profile)
        self.port = _free_port()
        command = qemu_command(self.profile, self.elf, self.port)
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        _running.add(self)
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def connect(self, **link_options) -> DeviceLink:
        """Opens the UART (QEMU starts the board on this first connection, so no byte is lost)."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                status = self.process.wait() if self.process else "stopped"
                raise DeviceError(f"QEMU exited with status {status} before the board started: "
                                  f"{self.error_output() or '(no output)'}\n  command: "
                                  f"{' '.join(qemu_command(self.profile, self.elf, self.port))}")
            try:
                return DeviceLink.open(self.url, **link_options)
            except DeviceError:
                if time.monotonic() > deadline:
                    raise DeviceError(f"QEMU did not open its serial port within {self.start_timeout:g} s") from None
                time.sleep(0.05)

    def _drain(self) -> None:
        stream = self.process.stderr
        for line in iter(stream.readline, b""):
            self._stderr.append(line)

    def error_output(self) -> str:
        return b"".join(self._stderr).decode(errors="replace").strip()[-2000:]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _running.discard(self)

    def __enter__(self) -> "QemuBoard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@atexit.register
def _reap_all() -> None:
    for board in list(_running):
        board.stop()
