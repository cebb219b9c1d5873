"""`tfcompress build` for the esp32 port: an ESP-IDF project, built by idf.py where it is installed.

The firmware folder of an ESP32 board holds, besides what every build writes (build.json, the
bundle's copies, generated/):

    OUT/project/                   an ESP-IDF project, ready to build (firmware/ports/esp32):
        CMakeLists.txt, sdkconfig.defaults (with the board's settings appended),
        main/ (port.c and main.c, the ESP-IDF glue; CMakeLists.txt; idf_component.yml;
               tfc_settings.cmake: the backend, the UART and where the generated C is: ../../generated),
        firmware/ (a copy of the shared harness, kernels and TFLM glue every port compiles)
    OUT/project/build/             idf.py's build: flasher_args.json, the .bin files, the .elf
    OUT/firmware.elf               a copy of the app's ELF, once built

Without idf.py on PATH the project is still written (it needs nothing from tfcompress to build:
the folder can be built on another machine), and `build` stops with the commands that install
ESP-IDF and build it; `tfcompress flash` then takes the folder once idf.py has built it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable

from tfcompress import fileio
from tfcompress.device.profiles import DeviceProfile
from tfcompress.errors import TfcompressError

PORT_DIR = Path(__file__).resolve().parents[2] / "firmware" / "ports" / "esp32"
PROJECT = "project"
IDF = "idf.py"
IDF_VERSION = "v5.5"  # the ESP-IDF release the project is written for (esp_cpu_get_cycle_count: v5.0 and later)
IDF_TIMEOUT = 1800  # the first build fetches the registry's components and compiles ESP-IDF: minutes
# The shared C every port compiles, copied into the project so that it builds on its own
SHARED = ("harness/include", "harness/src", "kernels/include", "kernels/src", "tflm")
TEMPLATE = ("CMakeLists.txt", "sdkconfig.defaults", "main/CMakeLists.txt", "main/idf_component.yml",
            "main/port.c", "main/main.c")
UART_DRIVERS = ("idf_uart", "usb_serial_jtag")


class EspIdfMissing(TfcompressError):
    """idf.py is not installed: the project is written, here is how to build it."""


def target(profile: DeviceProfile) -> str:
    """ESP-IDF's target for the board: esptool's chip name (they are the same names)."""
    return profile.flasher["chip"]


def sdkconfig_lines(profile: DeviceProfile) -> list[str]:
    """The board's settings, appended to the project's sdkconfig.defaults."""
    mhz = profile.clock_hz // 1_000_000
    flash_mb = profile.flash.bytes // (1024 * 1024)
    lines = ["", f"# {profile.name} (devices/{profile.name}.json), written by tfcompress build",
             f'CONFIG_IDF_TARGET="{target(profile)}"',
             f"CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_{mhz}=y",
             f"CONFIG_ESPTOOLPY_FLASHSIZE_{flash_mb}MB=y",
             f"CONFIG_ESP_MAIN_TASK_STACK_SIZE={profile.stack_bytes}"]
    if profile.uart["driver"] == "idf_uart":
        lines.append(f"CONFIG_ESP_CONSOLE_UART_BAUDRATE={profile.uart['baud']}")
    return [*lines, ""]


def settings_cmake(profile: DeviceProfile, backend: str) -> str:
    return "\n".join([
        f"# Written by tfcompress build for {profile.name}: read by CMakeLists.txt beside it.",
        f"set(TFC_BACKEND {backend})",
        f"set(TFC_UART_DRIVER {profile.uart['driver']})",
        "get_filename_component(TFC_GENERATED_DIR ${CMAKE_CURRENT_LIST_DIR}/../../generated ABSOLUTE)", ""])


def write_project(firmware_dir: Path, profile: DeviceProfile, backend: str) -> Path:
    """Writes FIRMWARE_DIR/project (FIRMWARE_DIR/generated must hold the generated C); returns it."""
    if profile.uart["driver"] not in UART_DRIVERS:
        raise TfcompressError(f"{profile.path}: field 'uart.driver': the esp32 port's drivers are "
                              f"{', '.join(UART_DRIVERS)}, not {profile.uart['driver']!r}")
    project = firmware_dir / PROJECT
    for name in TEMPLATE:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PORT_DIR / name, project / name)
    if backend == "c":  # no TFLM to fetch or compile: the manifest keeps only ESP-IDF itself
        manifest = project / "main" / "idf_component.yml"
        manifest.write_text(re.sub(r"\n  espressif/esp-tflite-micro:\n    version: [^\n]*", "", manifest.read_text()))
    with open(project / "sdkconfig.defaults", "a", encoding="utf-8") as defaults:
        defaults.write("\n".join(sdkconfig_lines(profile)))
    (project / "main" / "tfc_settings.cmake").write_text(settings_cmake(profile, backend))
    firmware_source = PORT_DIR.parents[1]
    for part in SHARED:
        if (firmware_source / part).is_dir():
            shutil.copytree(firmware_source / part, project / "firmware" / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"))
    return project


def idf_commands(project: Path, profile: DeviceProfile) -> list[list[str]]:
    """What builds the project: idf.py set-target (a new sdkconfig from the defaults), then build."""
    return [[IDF, "-C", str(project), "set-target", target(profile)], [IDF, "-C", str(project), "build"]]


def install_help(project: Path, profile: DeviceProfile) -> str:
    chip = target(profile)
    commands = "\n".join("  " + " ".join(c) for c in idf_commands(project, profile))
    return (f"ESP-IDF ({IDF_VERSION}) builds it; install it once (Linux or macOS; its prerequisites, e.g. on "
            f"Debian: apt-get install git wget flex bison gperf python3 python3-venv cmake ninja-build ccache "
            f"libffi-dev libssl-dev dfu-util libusb-1.0-0):\n"
            f"  git clone -b {IDF_VERSION} --recursive https://github.com/espressif/esp-idf.git ~/esp/esp-idf\n"
            f"  ~/esp/esp-idf/install.sh {chip}\n"
            f"then, in each shell: . ~/esp/esp-idf/export.sh\n"
            f"and build (or run this tfcompress build again):\n{commands}")


def build_project(firmware, log: Callable[[str], None] | None = None):
    """Runs idf.py on the firmware's project, or raises EspIdfMissing saying how; returns the
    firmware with its build.json updated (the app's size, the ELF copied to firmware.elf)."""
    profile = firmware.profile
    project = firmware.directory / PROJECT
    if shutil.which(IDF) is None:
        raise EspIdfMissing(f"{project}: the ESP-IDF project is written, not built: {IDF} is not on PATH. "
                            + install_help(project, profile))
    for command in idf_commands(project, profile):
        _run(command, log)
    return record_build(firmware)


def _run(command: list[str], log: Callable[[str], None] | None) -> None:
    if log:
        log("$ " + " ".join(command))
    from tfcompress.device.flashing import run_tool

    status, output = run_tool(command, IDF_TIMEOUT, log, error=TfcompressError)  # its output as it comes
    if status != 0:
        raise TfcompressError(f"{' '.join(command)} failed (exit {status}):\n{output[-4000:]}")


def build_outputs(firmware_dir: Path) -> dict:
    """What idf.py built: project_description.json's app, and flasher_args.json (offsets and files)."""
    build = firmware_dir / PROJECT / "build"
    flasher, description = build / "flasher_args.json", build / "project_description.json"
    for path in (flasher, description):
        if not path.is_file():
            raise TfcompressError(f"{path}: missing: the ESP-IDF project is not built yet; build it with "
                                  f"`idf.py -C {firmware_dir / PROJECT} build` (or `tfcompress build` with idf.py "
                                  f"on PATH)")
    try:
        return {"flasher_args": fileio.read_json(flasher), "description": fileio.read_json(description),
                "build": build}
    except ValueError as err:
        raise TfcompressError(f"{build}: cannot read idf.py's JSON ({err}): build the project again") from None


def record_build(firmware):
    """build.json after idf.py: the app's size and ELF (FW/firmware.elf is a copy of it)."""
    outputs = build_outputs(firmware.directory)
    description, build = outputs["description"], outputs["build"]
    app_bin, app_elf = build / description["app_bin"], build / description["app_elf"]
    shutil.copyfile(app_elf, firmware.directory / "firmware.elf")
    info = dict(firmware.info)
    info["esp_idf"] = {**info["esp_idf"], "built": True, "target": description.get("target"),
                       "idf_version": description.get("git_revision")}
    info["flash"] = app_bin.stat().st_size
    info["ram"] = static_ram(app_elf) + firmware.profile.stack_bytes
    fileio.write_json(firmware.directory / "build.json", info)
    return type(firmware)(firmware.directory, info)


def static_ram(elf_path: Path) -> int:
    """Bytes of internal data RAM the app's ELF takes statically (.dram0.data, .noinit, .dram0.bss), as
    port.c's figure (_data_start to _bss_end); the main task's stack comes from the heap at start."""
    from elftools.elf.elffile import ELFFile

    with open(elf_path, "rb") as stream:
        return sum(section["sh_size"] for section in ELFFile(stream).iter_sections()
                   if section.name in (".dram0.data", ".noinit", ".dram0.bss"))


def format_build(firmware) -> str:
    info = firmware.info
    project = firmware.directory / PROJECT
    if not info["esp_idf"].get("built"):
        return f"ESP-IDF project for {info['device']} ({info['backend']} backend): {project} (not built)"
    return "\n".join([
        f"firmware for {info['device']} ({info['backend']} backend, ESP-IDF {info['esp_idf'].get('idf_version')}): "
        f"{project / 'build'}",
        f"  flash  app image {info['flash']:,} bytes of {info['flash_capacity']:,} (the .tflite: "
        f"{info['model_bytes']:,} bytes)",
        f"  RAM    {info['ram']:,} of {info['ram_capacity']:,} bytes (static data and the main task's stack; "
        f"`idf.py -C {project} size` details it)",
    ])


def project_info(profile: DeviceProfile) -> dict:
    """build.json's fields particular to an ESP-IDF build, before idf.py has run."""
    return {"esp_idf": {"project": PROJECT, "target": target(profile), "built": False},
            "flash": None, "ram": None, "sections": {}, "flash_parts": {}}


def build_esp_idf(bundle: Path, profile: DeviceProfile, out: str | Path, backend: str, force: bool,
                  log: Callable[[str], None] | None, manifest: dict, model: bytes, generated_model, tflm_model):
    """tfcompress build for an esp32-port board (build_firmware's part after the model's C is generated):
    writes OUT (build.json, generated/, project/), then builds it with idf.py, or raises EspIdfMissing
    with the commands that install ESP-IDF and build it (OUT stays written)."""
    from tfcompress.device.build import BUILD_FILE, FIRMWARE_OUTPUT, Firmware, write_generated

    with fileio.staged_directory(out, FIRMWARE_OUTPUT, force, (bundle,)) as staging:
        write_generated(staging, bundle, profile, manifest, generated_model, tflm_model)
        write_project(staging, profile, backend)
        info = {"format": FIRMWARE_OUTPUT.format, "device": profile.name, "device_profile": str(profile.path),
                "backend": backend, "dsp": False, "model_sha256": manifest["model"]["sha256"],
                "model_bytes": len(model),
                "arena_bytes": tflm_model.arena_bytes if tflm_model else generated_model.arena_bytes,
                "bundle": str(bundle.resolve()), **project_info(profile),
                "flash_capacity": profile.flash.bytes, "ram_capacity": profile.ram.bytes}
        fileio.write_json(staging / BUILD_FILE, info)
    return build_project(Firmware(Path(out), info), log)
