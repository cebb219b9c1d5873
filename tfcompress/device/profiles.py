"""Board profiles (devices/NAME.json): what a firmware build and a run need to know about a board.

The schema is documented in devices/README.md; `load_profile` validates every field and names
the file and the field it refuses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from tfcompress.errors import TfcompressError

DEVICES_DIR = Path(__file__).resolve().parents[2] / "devices"
FORMAT, VERSION = "tfcompress-device", 1
DEFAULT_DEVICE = "qemu-mps2-an386"
PORTS = ("cortex_m", "riscv", "esp32")
COUNTERS = {"dwt": "cycles", "systick": "instructions", "minstret": "instructions", "ccount": "cycles"}
RUN_KINDS = ("qemu", "serial")  # emulated by QEMU; a real board on a serial port
# How a real board is flashed (the profile's "flash" object): the tool and the port whose boards it flashes
FLASH_TOOLS = {"pyocd": "cortex_m", "esptool": "esp32"}
ESPTOOL_CHIPS = ("esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32c61", "esp32h2",
                 "esp32p4")  # esptool v5's --chip names (also ESP-IDF's targets)


class DeviceProfileError(TfcompressError):
    def __init__(self, path: Path | str, field: str | None, message: str):
        where = f"{path}: field {field!r}" if field else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    origin: int
    bytes: int


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    port: str
    core: str
    cpu_flags: tuple[str, ...]
    dsp: bool  # the core has the DSP extension (SMLAD, SXTB16): the kernels' DSP path is the default
    clock_hz: int
    flash: MemoryRegion
    ram: MemoryRegion
    stack_bytes: int
    uart: dict
    counter_kind: str  # dwt | systick | minstret | ccount
    counter_unit: str  # cycles | instructions
    counter_scale: tuple[int, int]  # counts = ticks * numerator / denominator
    run: dict
    path: Path
    flasher: dict | None = None  # the profile's "flash" object: {"tool": "pyocd", "target": ...} or esptool's

    @property
    def emulated(self) -> bool:
        return self.run["kind"] == "qemu"


class _Fields:
    """Reads one JSON object's fields, refusing a missing or mistyped one by its dotted name."""

    def __init__(self, path: Path, data, prefix: str = ""):
        self.path, self.prefix = path, prefix
        if not isinstance(data, dict):
            raise DeviceProfileError(path, prefix.rstrip(".") or None, "expected a JSON object")
        self.data = data

    def get(self, key: str, kind, check=None, what: str | None = None):
        name = self.prefix + key
        if key not in self.data:
            raise DeviceProfileError(self.path, name, "missing")
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)) or \
                (check is not None and not check(value)):
            raise DeviceProfileError(self.path, name, f"expected {what or kind.__name__}, got {value!r}")
        return value

    def object(self, key: str) -> "_Fields":
        return _Fields(self.path, self.get(key, dict), f"{self.prefix}{key}.")

    def address(self, key: str) -> int:
        text = self.get(key, str, lambda v: v.lower().startswith("0x"), "a hex address like \"0x20000000\"")
        try:
            return int(text, 16)
        except ValueError:
            raise DeviceProfileError(self.path, self.prefix + key, f"not a hex address: {text!r}") from None

    def positive(self, key: str) -> int:
        return self.get(key, int, lambda v: v > 0, "a positive integer")


def _region(fields: _Fields, key: str) -> MemoryRegion:
    region = fields.object(key)
    return MemoryRegion(region.get("name", str), region.address("origin"), region.positive("bytes"))


def load_profile(name_or_path: str | Path) -> DeviceProfile:
    """A profile by name (devices/NAME.json) or by the path of a JSON file."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = DEVICES_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise DeviceProfileError(name_or_path, None, f"no such device; known devices: {', '.join(device_names())}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeviceProfileError(path, None, "no such device profile") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DeviceProfileError(path, None, f"not a JSON file ({err})") from None
    f = _Fields(path, data)
    if f.get("format", str) != FORMAT or f.get("version", int) != VERSION:
        raise DeviceProfileError(path, "format", f"not a {FORMAT} version {VERSION} file")
    memory, uart, counter, run = f.object("memory"), f.object("uart"), f.object("counter"), f.object("run")
    port = f.get("port", str, lambda v: v in PORTS, f"one of {', '.join(PORTS)}")
    kind = counter.get("kind", str, lambda v: v in COUNTERS, f"one of {', '.join(COUNTERS)}")
    unit = counter.get("unit", str, lambda v: v in ("cycles", "instructions"), "cycles or instructions")
    if kind == "dwt" and unit != "cycles":
        raise DeviceProfileError(path, "counter.unit", "the DWT counts cycles")
    if kind == "minstret" and unit != "instructions":
        raise DeviceProfileError(path, "counter.unit", "minstret counts instructions")
    if (kind == "ccount") != (port == "esp32"):
        raise DeviceProfileError(path, "counter.kind", "the Xtensa CCOUNT counter (\"ccount\") goes with the esp32 "
                                                       "port, and the esp32 port counts with it")
    if kind == "ccount" and unit != "cycles":
        raise DeviceProfileError(path, "counter.unit", "CCOUNT counts cycles")
    run_kind = run.get("kind", str, lambda v: v in RUN_KINDS, f"one of {', '.join(RUN_KINDS)}")
    if run_kind == "qemu":
        run.get("machine", str)
        run.data.setdefault("args", [])
        run.get("args", list, lambda v: all(isinstance(a, str) for a in v), "a list of strings")
    flasher = _flasher(f, port) if run_kind == "serial" or "flash" in f.data else None
    flash, ram = _region(memory, "flash"), _region(memory, "ram")
    if flash.origin < ram.origin + ram.bytes and ram.origin < flash.origin + flash.bytes:
        raise DeviceProfileError(path, "memory", "flash and ram overlap")
    stack = memory.positive("stack_bytes")
    if stack % 8 or stack >= ram.bytes:
        raise DeviceProfileError(path, "memory.stack_bytes", f"expected a multiple of 8 below ram.bytes, got {stack}")
    clock = f.positive("clock_hz")
    uart.get("driver", str)
    uart.address("base")
    baud = uart.positive("baud")
    if clock // baud < 16:
        raise DeviceProfileError(path, "uart.baud", f"{baud} is too fast for a {clock} Hz clock (divider below 16)")
    profile = DeviceProfile(
        name=f.get("name", str, lambda v: v == path.stem, f"the file's name ({path.stem!r})"),
        description=f.get("description", str), port=port, core=f.get("core", str),
        cpu_flags=tuple(f.get("cpu_flags", list, lambda v: all(isinstance(a, str) for a in v), "a list of strings")),
        dsp=f.get("dsp", bool), clock_hz=clock, flash=flash, ram=ram, stack_bytes=stack,
        uart=dict(uart.data), counter_kind=kind, counter_unit=unit,
        counter_scale=(counter.positive("numerator"), counter.positive("denominator")),
        run=dict(run.data), path=path, flasher=flasher)
    return profile


def _flasher(f: _Fields, port: str) -> dict:
    """The "flash" object: how a real board is flashed (tfcompress/device/flashing.py)."""
    flasher = f.object("flash")
    tool = flasher.get("tool", str, lambda v: v in FLASH_TOOLS, f"one of {', '.join(FLASH_TOOLS)}")
    tool_port = FLASH_TOOLS[tool]
    if port != tool_port:
        raise DeviceProfileError(f.path, "flash.tool", f"{tool} flashes boards of the {tool_port} port, not {port}")
    if tool == "pyocd":
        flasher.get("target", str, lambda v: re.fullmatch(r"[a-z0-9_]+", v) is not None,
                    "a pyOCD target name (`python -m pyocd list --targets`), like \"stm32h743xx\"")
    else:
        flasher.get("chip", str, lambda v: v in ESPTOOL_CHIPS, f"one of esptool's chips: {', '.join(ESPTOOL_CHIPS)}")
        flasher.data.setdefault("baud", 460800)
        flasher.positive("baud")
    return dict(flasher.data)


def device_names() -> list[str]:
    return sorted(p.stem for p in DEVICES_DIR.glob("*.json"))


def all_profiles() -> list[DeviceProfile]:
    return [load_profile(name) for name in device_names()]
