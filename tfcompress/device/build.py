"""`tfcompress build`: a converted bundle (docs/artifacts.md) -> firmware for one board.

The bundle's model becomes C (converters.generated_c), its tokenizer and labels C arrays are
copied, `tfc_build_info.h` carries the board's settings and the model's SHA-256 for the
banner, and CMake with the port's toolchain file builds firmware/ into an ELF, whose sections
are then checked against the board (tfcompress.device.elf).

    OUT/firmware.elf    the image (tfcompress flash / run / bench read OUT)
    OUT/firmware.map    the linker's map: where every byte went
    OUT/build.json      marker: device, backend, DSP path, model SHA-256, flash and RAM use
    OUT/generated/      the C the build compiled besides firmware/ (model, tokenizer, labels, settings)
    OUT/manifest.json, labels.json, tokenizer.json, model.tflite   copies from the bundle, for the host side
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tfcompress import fileio
from tfcompress.device.elf import FitError, flash_by_part, memory_use
from tfcompress.device.profiles import DeviceProfile, load_profile
from tfcompress.errors import ModelFileError, TfcompressError
from tfcompress.outputs import OutputKind

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
BUILD_FILE = "build.json"
BUNDLE_COPIES = ("manifest.json", "labels.json", "tokenizer.json", "model.tflite")
GENERATED_FROM_BUNDLE = ("tokenizer_data.h", "tokenizer_data.c", "labels_data.h", "labels_data.c", "model_data.h",
                         "model_data.c")
FIRMWARE_OUTPUT = OutputKind("firmware build", "tfcompress-firmware", BUILD_FILE,
                             frozenset({"firmware.elf", "firmware.map", BUILD_FILE, "generated", *BUNDLE_COPIES,
                                        "project"}))  # project/: an ESP32 board's ESP-IDF project
BACKENDS = ("c", "tflm")
TOOLS = {"cortex_m": {"cmake": "cmake", "compiler": "arm-none-eabi-gcc", "toolchain": "arm-none-eabi.cmake",
                      "packages": "cmake gcc-arm-none-eabi libnewlib-arm-none-eabi"},
         "riscv": {"cmake": "cmake", "compiler": "riscv64-unknown-elf-gcc", "toolchain": "riscv64-unknown-elf.cmake",
                   "packages": "cmake gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf"}}


class ToolMissing(TfcompressError):
    pass


TFLM_HELP = ("the TFLM backend links a TFLM library you build with TFLM's own Makefile for the board's core: "
             "see docs/tflm.md, then pass --tflm-dir TREE --tflm-lib LIB (or set TFLM_DIR and TFLM_LIB)")


@dataclass(frozen=True)
class TflmLibrary:
    """A user-built TFLM: its source tree (headers, the Makefile's downloads/) and static library."""

    directory: Path
    library: Path

    @classmethod
    def find(cls, directory: str | Path | None = None, library: str | Path | None = None) -> "TflmLibrary":
        """From the arguments, else $TFLM_DIR / $TFLM_LIB; ToolMissing naming what is absent and how to get it."""
        directory = directory or os.environ.get("TFLM_DIR")
        library = library or os.environ.get("TFLM_LIB")
        if not directory or not library:
            missing = [name for name, value in (("TFLM_DIR", directory), ("TFLM_LIB", library)) if not value]
            raise ToolMissing(f"{' and '.join(missing)} not set: {TFLM_HELP}")
        directory, library = Path(directory).expanduser(), Path(library).expanduser()
        downloads = directory / "tensorflow/lite/micro/tools/make/downloads"
        needed = [(directory / "tensorflow/lite/micro/micro_interpreter.h", "not a TFLM tree"),
                  (downloads / "flatbuffers/include", "its Makefile has not run (no downloads/flatbuffers)"),
                  (downloads / "gemmlowp", "its Makefile has not run (no downloads/gemmlowp)"),
                  (library, "no such library")]
        for path, why in needed:
            if not path.exists():
                raise ToolMissing(f"{path}: {why}; {TFLM_HELP}")
        return cls(directory.resolve(), library.resolve())


@dataclass(frozen=True)
class Firmware:
    """A built firmware folder: its ELF, its board and what it was built from."""

    directory: Path
    info: dict

    @property
    def elf(self) -> Path:
        return self.directory / "firmware.elf"

    @property
    def profile(self) -> DeviceProfile:
        return load_profile(self.info["device_profile"]) if Path(self.info["device_profile"]).is_file() \
            else load_profile(self.info["device"])

    @property
    def model_sha256(self) -> str:
        return self.info["model_sha256"]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(fileio.read_json(self.directory / "labels.json"))

    @property
    def manifest(self) -> dict:
        return fileio.read_json(self.directory / "manifest.json")

    @property
    def tflite(self) -> bytes:
        return (self.directory / "model.tflite").read_bytes()

    def check_built_from(self, trained, model_dir) -> None:
        """Refuses `trained` (loaded from `model_dir`) unless the firmware's model was converted from it."""
        made_from = self.manifest["source"].get("fingerprint")
        if made_from != trained.fingerprint():
            raise TfcompressError(f"{self.directory} was built from another model than {model_dir} (fingerprints "
                                  f"{str(made_from)[:12]} and {trained.fingerprint()[:12]})")

    @classmethod
    def load(cls, directory: str | Path) -> "Firmware":
        directory = Path(directory)
        marker = directory / BUILD_FILE
        if not marker.is_file():
            raise ModelFileError(directory, "not a firmware folder (make one with `tfcompress build BUNDLE --device "
                                            "NAME --out DIR`)")
        try:
            info = fileio.read_json(marker)
        except ValueError as err:
            raise ModelFileError(marker, f"cannot read it as JSON ({err})") from None
        if not isinstance(info, dict) or info.get("format") != FIRMWARE_OUTPUT.format:
            raise ModelFileError(marker, f"not a {FIRMWARE_OUTPUT.format} file")
        for name in (*(() if "esp_idf" in info else ("firmware.elf",)), *BUNDLE_COPIES):  # ESP32: the ELF once built
            if not (directory / name).is_file():
                raise ModelFileError(directory / name, "missing: build the firmware again")
        return cls(directory, info)


def check_tools(profile: DeviceProfile) -> dict[str, str]:
    """The build tools of `profile`'s port, or ToolMissing saying how to install them."""
    tools = TOOLS[profile.port]
    found = {name: shutil.which(tools[name]) for name in ("cmake", "compiler")}
    missing = [tools[name] for name, where in found.items() if where is None]
    if missing:
        raise ToolMissing(f"building for {profile.name} needs {', '.join(missing)}: run ./setup.sh, or "
                          f"apt-get install {tools['packages']}")
    return {**found, "toolchain": tools["toolchain"]}


def check_cxx_runtime() -> str:
    """The C++ runtime the TFLM backend links on Cortex-M (Debian packages it apart from the compiler),
    or ToolMissing saying how to install it."""
    how = "the TFLM backend links arm-none-eabi's libstdc++: apt-get install libstdc++-arm-none-eabi-newlib"
    if shutil.which("arm-none-eabi-g++") is None:
        raise ToolMissing(how)
    result = subprocess.run(["arm-none-eabi-g++", "-mthumb", "-print-file-name=libstdc++_nano.a"],
                            capture_output=True, text=True, timeout=60)
    path = result.stdout.strip()
    if not path.startswith("/"):
        raise ToolMissing(how)
    return path


def build_info_header(profile: DeviceProfile, model_sha256: str) -> str:
    lines = ["/* Generated by tfcompress build from the device profile: do not edit. */",
             "#ifndef TFC_BUILD_INFO_H", "#define TFC_BUILD_INFO_H", "",
             f'#define TFC_BOARD_NAME "{profile.name}"', f'#define TFC_BOARD_CORE "{profile.core}"',
             f"#define TFC_BOARD_CLOCK_HZ {profile.clock_hz}u", f'#define TFC_MODEL_SHA256 "{model_sha256}"',
             f"#define TFC_COUNTER_NUMERATOR {profile.counter_scale[0]}u",
             f"#define TFC_COUNTER_DENOMINATOR {profile.counter_scale[1]}u",
             f'#define TFC_COUNTER_UNIT "{profile.counter_unit}"']
    for key, value in sorted(profile.uart.items()):
        if isinstance(value, int) or (isinstance(value, str) and value.lower().startswith("0x")):
            lines.append(f"#define TFC_UART_{key.upper()} {value}u")
    return "\n".join([*lines, "", "#endif", ""])


def read_bundle(bundle: Path) -> tuple[dict, bytes]:
    manifest_path = bundle / "manifest.json"
    if not manifest_path.is_file():
        raise ModelFileError(bundle, "not a firmware bundle: no manifest.json (make one with `tfcompress convert`)")
    manifest = fileio.read_json(manifest_path)
    if not isinstance(manifest, dict) or manifest.get("format") != "tfcompress-manifest":
        raise ModelFileError(manifest_path, "not a tfcompress-manifest file")
    for name in (*GENERATED_FROM_BUNDLE, *BUNDLE_COPIES):
        if not (bundle / name).is_file():
            raise ModelFileError(bundle / name, "missing: convert the model again")
    model = (bundle / "model.tflite").read_bytes()
    digest = hashlib.sha256(model).hexdigest()
    if digest != manifest["model"]["sha256"]:
        raise ModelFileError(bundle / "model.tflite", f"SHA-256 {digest} differs from the manifest's "
                                                                 f"{manifest['model']['sha256']}")
    return manifest, model


def _run(command: list[str], what: str, cwd: Path, log: Callable[[str], None] | None) -> None:
    """Runs a build step; its output reaches the user when it fails (never swallowed)."""
    if log:
        log("$ " + " ".join(command))
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise TfcompressError(f"{what} did not finish within 15 minutes: {' '.join(command)}") from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        if "uses VFP register arguments" in output:
            raise TfcompressError(f"{what} failed: the firmware and the libraries it links disagree on the float "
                                  "ABI (VFP register arguments): a TFLM library built for another core? Build "
                                  "TFLM with the TARGET_ARCH of this board's core (docs/tflm.md).\n"
                                  + "\n".join(output.splitlines()[-5:]))
        overflow = re.findall(r"region `(\w+)' overflowed by (\d+) bytes", output)
        if overflow:
            raise FitError("the firmware does not fit the board: " + "; ".join(
                f"{region.lower()} overflowed by {int(n):,} bytes" for region, n in overflow))
        raise TfcompressError(f"{what} failed ({command[0]}, exit {result.returncode}):\n{output[-4000:]}")


def measure_tflm_arena(elf: Path, profile: DeviceProfile, capacity: int, log: Callable[[str], None] | None,
                       what: str = "measuring TFLM's arena") -> int:
    """The arena TFLM really uses (arena_used_bytes(), from the banner) with this model and library, on
    the emulated board: what `build` sizes the arena to, instead of an estimate."""
    from tfcompress.device.link import DeviceError
    from tfcompress.device.qemu import QemuBoard

    if log:
        log(f"{what} on the emulated {profile.name} (a {capacity:,}-byte arena)")
    try:
        with QemuBoard(profile, elf) as board:
            return board.connect(timeout=20).handshake().arena
    except DeviceError as err:
        raise TfcompressError(f"{what}: TFLM did not start on the emulated {profile.name} with a {capacity:,}-byte "
                              f"arena: {err}") from None


def write_generated(staging: Path, bundle: Path, profile: DeviceProfile, manifest: dict, generated_model,
                    tflm_model) -> Path:
    """OUT/generated (the C the build compiles besides firmware/) and the bundle's copies; returns generated/."""
    generated = staging / "generated"
    generated.mkdir()
    (generated / "tfc_model.c").write_text(generated_model.source)
    (generated / "tfc_model.h").write_text(generated_model.header)
    if tflm_model is not None:
        (generated / "tfc_tflm_model.h").write_text(tflm_model.header)
        (generated / "tfc_tflm_model.cc").write_text(tflm_model.source)
    (generated / "tfc_build_info.h").write_text(build_info_header(profile, manifest["model"]["sha256"]))
    for name in GENERATED_FROM_BUNDLE:
        shutil.copyfile(bundle / name, generated / name)
    for name in BUNDLE_COPIES:
        shutil.copyfile(bundle / name, staging / name)
    return generated


def build_firmware(bundle: str | Path, device: str | Path, out: str | Path, dsp: bool | None = None,
                   backend: str = "c", force: bool = False, log: Callable[[str], None] | None = None,
                   tflm: TflmLibrary | None = None, arena_bytes: int | None = None) -> Firmware:
    """Builds `bundle`'s model into firmware for `device` in the folder `out` (replacing only an earlier
    build); `dsp` None: the kernels' DSP path where the core has the extension. `backend` "tflm" links
    `tflm` (default: TflmLibrary.find()) with an arena of `arena_bytes` (default: estimated)."""
    bundle = Path(bundle)
    profile = load_profile(device)
    if backend not in BACKENDS:
        raise TfcompressError(f"backend {backend!r}: this build knows {', '.join(BACKENDS)}")
    use_dsp = profile.dsp if dsp is None else dsp
    if use_dsp and not profile.dsp:
        raise TfcompressError(f"{profile.name}'s {profile.core} has no DSP extension: build without --dsp")
    from tfcompress.outputs import check_output

    check_output(out, FIRMWARE_OUTPUT, (bundle,), force)
    esp_idf = profile.port == "esp32"  # an ESP-IDF project, built by idf.py (tfcompress/device/esp_idf.py)
    tools = {} if esp_idf else check_tools(profile)
    if backend == "tflm" and tflm is None and not esp_idf:  # ESP-IDF's TFLM: the esp-tflite-micro component
        tflm = TflmLibrary.find()
    if backend == "tflm" and profile.port == "riscv":
        raise TfcompressError(f"{profile.name}: the TFLM backend is not built for the riscv port (Debian's "
                              "riscv64-unknown-elf toolchain has no C++ runtime); ESP32-C3/C6 boards run TFLM "
                              "through ESP-IDF's esp-tflite-micro (docs/boards.md), or build with --backend c")
    if backend == "tflm" and profile.port == "cortex_m":
        check_cxx_runtime()
    manifest, model = read_bundle(bundle)
    from converters.generated_c import generate_c

    generated_model = generate_c(model)
    tflm_model = None
    if backend == "tflm":
        from converters.tflm_model import generate_tflm

        probe = arena_bytes
        if arena_bytes is None and profile.emulated:  # measured below: first a roomy arena, half the free RAM
            probe = (profile.ram.bytes - profile.stack_bytes) // 32 * 16
        tflm_model = generate_tflm(model, generated_model.arena_bytes, tflm.directory if tflm else None, probe)
    if esp_idf:
        from tfcompress.device.esp_idf import build_esp_idf

        return build_esp_idf(bundle, profile, out, backend, force, log, manifest, model, generated_model, tflm_model)
    with fileio.staged_directory(out, FIRMWARE_OUTPUT, force, (bundle,)) as staging, \
            tempfile.TemporaryDirectory(prefix="tfc-build-") as tree:
        generated = write_generated(staging, bundle, profile, manifest, generated_model, tflm_model)
        port_dir = FIRMWARE_DIR / "ports" / profile.port
        configure = [tools["cmake"], "-S", str(FIRMWARE_DIR), "-B", tree, "-G", "Unix Makefiles",
                     f"-DCMAKE_TOOLCHAIN_FILE={port_dir / tools['toolchain']}", "-DCMAKE_BUILD_TYPE=Release",
                     f"-DTFC_PORT={profile.port}", f"-DTFC_GENERATED_DIR={generated}",
                     f"-DTFC_USE_DSP={'ON' if use_dsp else 'OFF'}", f"-DTFC_CPU_FLAGS={';'.join(profile.cpu_flags)}",
                     f"-DTFC_UART_DRIVER={profile.uart['driver']}", f"-DTFC_COUNTER={profile.counter_kind}",
                     f"-DTFC_FLASH_ORIGIN=0x{profile.flash.origin:08x}", f"-DTFC_FLASH_BYTES={profile.flash.bytes}",
                     f"-DTFC_RAM_ORIGIN=0x{profile.ram.origin:08x}", f"-DTFC_RAM_BYTES={profile.ram.bytes}",
                     f"-DTFC_STACK_BYTES={profile.stack_bytes}", f"-DTFC_BACKEND={backend}"]
        if tflm is not None:
            configure += [f"-DTFLM_DIR={tflm.directory}", f"-DTFLM_LIB={tflm.library}"]
        _run(configure, "configuring the firmware build (cmake)", staging, log)
        compile_and_link = [tools["cmake"], "--build", tree, "--parallel", str(os.cpu_count() or 1)]
        try:
            _run(compile_and_link, "building the firmware", staging, log)
        except FitError as err:
            if tflm_model is not None and arena_bytes is None and not profile.emulated:
                raise FitError(f"{err} (with TFLM's arena estimated at {tflm_model.arena_bytes:,} bytes: the banner "
                               "of a build on an emulated board with the same core reports what TFLM uses; build "
                               "with --arena-bytes N)") from None
            raise
        if tflm_model is not None and arena_bytes is None and profile.emulated:
            used = measure_tflm_arena(Path(tree) / "firmware.elf", profile, tflm_model.arena_bytes, log)
            tflm_model = tflm_model.with_arena(tflm_model.arena_for(used))
            (generated / "tfc_tflm_model.h").write_text(tflm_model.header)
            _run(compile_and_link, "building the firmware with the measured arena", staging, log)
            measure_tflm_arena(Path(tree) / "firmware.elf", profile, tflm_model.arena_bytes, log,
                               "checking that TFLM starts with the measured arena")
        shutil.copyfile(Path(tree) / "firmware.elf", staging / "firmware.elf")
        shutil.copyfile(Path(tree) / "firmware.map", staging / "firmware.map")
        use = memory_use(staging / "firmware.elf", profile)
        parts = flash_by_part(staging / "firmware.map")
        info = {"format": FIRMWARE_OUTPUT.format, "device": profile.name, "device_profile": str(profile.path),
                "backend": backend, "dsp": use_dsp, "model_sha256": manifest["model"]["sha256"],
                "model_bytes": len(model),
                "arena_bytes": tflm_model.arena_bytes if tflm_model else generated_model.arena_bytes,
                "bundle": str(bundle.resolve()), **use.as_dict(), "flash_parts": parts,
                "flash_capacity": profile.flash.bytes, "ram_capacity": profile.ram.bytes}
        fileio.write_json(staging / BUILD_FILE, info)
    return Firmware(Path(out), info)


def format_build(firmware: Firmware) -> str:
    info = firmware.info
    if "esp_idf" in info:
        from tfcompress.device.esp_idf import format_build as format_esp_idf_build

        return format_esp_idf_build(firmware)
    sections = ", ".join(f"{name} {size:,}" for name, size in info["sections"].items())
    return "\n".join([
        f"firmware for {info['device']} ({info['backend']} backend, {'DSP' if info['dsp'] else 'portable'} kernels): "
        f"{firmware.elf}",
        f"  flash  {info['flash']:,} of {info['flash_capacity']:,} bytes: " + ", ".join(
            f"{part} {size:,}" for part, size in info["flash_parts"].items())
        + f" (the .tflite: {info['model_bytes']:,} bytes)",
        f"  RAM    {info['ram']:,} of {info['ram_capacity']:,} bytes (arena {info['arena_bytes']:,}, stack included)",
        f"  sections: {sections}",
    ])


