"""The real boards (devices/nucleo-*, nrf52840-dk, rpi-pico, esp32-*): their profiles load and are
checked field by field; the firmware builds for every Cortex-M one and fits, with the vector table
(and, on the RP2040, the boot stage with its CRC) where the core looks for it; the UART drivers
run the harness on QEMU's models of the same peripherals (the STM32F405's USART on netduinoplus2,
the nRF51's UART on microbit); an ESP32 build writes a ready ESP-IDF project. No hardware."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers import board_tools_missing
from tfcompress.device.build import Firmware, build_firmware, format_build
from tfcompress.device.elf import memory_use
from tfcompress.device.profiles import DeviceProfileError, load_profile

CORTEX_M_BOARDS = ["nucleo-f446re", "nucleo-h743zi", "nrf52840-dk", "rpi-pico"]
ESP32_BOARDS = ["esp32-devkitc", "esp32-s3-devkitc"]
PORT_DIR = Path(__file__).resolve().parents[2] / "firmware" / "ports" / "cortex_m"
needs_arm = pytest.mark.skipif(board_tools_missing() is not None, reason=str(board_tools_missing()))


def test_real_board_profiles():
    expect = {  # core, clock, flash origin and size, RAM origin and size, counter, flashing
        "nucleo-f446re": ("cortex-m4", 16_000_000, 0x08000000, 512 << 10, 0x20000000, 128 << 10, "dwt",
                          {"tool": "pyocd", "target": "stm32f446retx"}),
        "nucleo-h743zi": ("cortex-m7", 64_000_000, 0x08000000, 2 << 20, 0x20000000, 128 << 10, "dwt",
                          {"tool": "pyocd", "target": "stm32h743xx"}),
        "nrf52840-dk": ("cortex-m4", 64_000_000, 0x0, 1 << 20, 0x20000000, 256 << 10, "dwt",
                        {"tool": "pyocd", "target": "nrf52840"}),
        "rpi-pico": ("cortex-m0plus", 12_000_000, 0x10000000, 2 << 20, 0x20000000, 264 << 10, "systick",
                     {"tool": "pyocd", "target": "rp2040"}),
        "esp32-devkitc": ("xtensa-lx6", 240_000_000, 0x3F400000, 4 << 20, 0x3FFAE000, 328 << 10, "ccount",
                          {"tool": "esptool", "chip": "esp32", "baud": 460800}),
        "esp32-s3-devkitc": ("xtensa-lx7", 240_000_000, 0x3C000000, 8 << 20, 0x3FC88000, 480 << 10, "ccount",
                             {"tool": "esptool", "chip": "esp32s3", "baud": 460800}),
    }
    for name, (core, clock, flash, flash_bytes, ram, ram_bytes, counter, flasher) in expect.items():
        p = load_profile(name)
        assert not p.emulated and p.run == {"kind": "serial"}
        assert (p.core, p.clock_hz, p.flash.origin, p.flash.bytes, p.ram.origin, p.ram.bytes) == \
            (core, clock, flash, flash_bytes, ram, ram_bytes), name
        assert (p.counter_kind, p.counter_unit, p.counter_scale) == (counter, "cycles", (1, 1)), name
        assert p.flasher == flasher, name
        assert p.port == ("esp32" if name.startswith("esp32") else "cortex_m")
        assert p.dsp == (core in ("cortex-m4", "cortex-m7"))  # the M0+ and the Xtensa cores: portable kernels
        if p.port == "cortex_m":
            assert (PORT_DIR / f"uart_{p.uart['driver']}.c").is_file()
    # the UART wired to each board's USB serial bridge
    wired = {"nucleo-f446re": {"base": "0x40004400", "tx_pin": 2, "rx_pin": 3, "af": 7},  # USART2 PA2/PA3
             "nucleo-h743zi": {"base": "0x40004800", "tx_pin": 8, "rx_pin": 9, "af": 7},  # USART3 PD8/PD9
             "nrf52840-dk": {"base": "0x40002000", "tx_pin": 6, "rx_pin": 8, "rts_pin": 5},  # UART0 P0.06/P0.08
             "rpi-pico": {"base": "0x40034000", "tx_pin": 0, "rx_pin": 1}}  # UART0 GPIO0/GPIO1
    for name, uart in wired.items():
        assert load_profile(name).uart.items() >= uart.items(), name


def _damaged(tmp_path, name: str, change) -> str:
    data = json.loads(load_profile(name).path.read_text())
    change(data)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("board, change, field, words", [
    ("nucleo-f446re", lambda d: d.pop("flash"), "flash", "missing"),
    ("nucleo-f446re", lambda d: d["flash"].update(tool="openocd"), "flash.tool", "pyocd, esptool"),
    ("nucleo-f446re", lambda d: d["flash"].pop("target"), "flash.target", "missing"),
    ("nucleo-f446re", lambda d: d["flash"].update(target="STM32 F446"), "flash.target", "pyOCD target name"),
    ("nucleo-f446re", lambda d: d.update(flash="pyocd"), "flash", "expected dict"),
    ("nucleo-f446re", lambda d: d["flash"].update(tool="esptool", chip="esp32"), "flash.tool",
     "esptool flashes boards of the esp32 port, not cortex_m"),
    ("nucleo-f446re", lambda d: d["counter"].update(kind="ccount"), "counter.kind", "esp32 port"),
    ("nucleo-f446re", lambda d: d["run"].update(kind="usb"), "run.kind", "qemu, serial"),
    ("esp32-s3-devkitc", lambda d: d["flash"].update(chip="esp8266"), "flash.chip", "esp32s3"),
    ("esp32-s3-devkitc", lambda d: d["flash"].update(baud=0), "flash.baud", "positive integer"),
    ("esp32-s3-devkitc", lambda d: d["counter"].update(kind="dwt"), "counter.kind", "esp32 port"),
    ("esp32-s3-devkitc", lambda d: d["flash"].update(tool="pyocd", target="esp32s3"), "flash.tool",
     "pyocd flashes boards of the cortex_m port"),
])
def test_damaged_board_profile_names_file_and_field(tmp_path, board, change, field, words):
    path = _damaged(tmp_path, board, change)
    with pytest.raises(DeviceProfileError) as err:
        load_profile(path)
    assert path in str(err.value) and f"field {field!r}" in str(err.value) and words in str(err.value)


# -- the Cortex-M boards: the firmware builds and fits, the core finds its vectors ----------------------

@pytest.fixture(scope="module")
def board_firmware(dkp_bundle, tmp_path_factory):
    built = {}

    def build(name: str) -> Firmware:
        if name not in built:
            built[name] = build_firmware(dkp_bundle, name, tmp_path_factory.mktemp("boards") / name)
        return built[name]
    return build


def _symbols(elf: Path) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in table.iter_symbols() if s.name}


def _flash_bytes(elf: Path, address: int, count: int) -> bytes:
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as stream:
        for section in ELFFile(stream).iter_sections():
            start = section["sh_addr"]
            if section["sh_type"] == "SHT_PROGBITS" and start <= address < start + section["sh_size"]:
                return section.data()[address - start:address - start + count]
    raise AssertionError(f"nothing at 0x{address:08x}")


def crc32_mpeg2(data: bytes) -> int:  # the RP2040 bootrom's CRC (datasheet 2.8.1.3.1), written independently
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if c & 0x80000000 else (c << 1) & 0xFFFFFFFF
        table.append(c)
    crc = 0xFFFFFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


def test_crc_is_the_bootroms():
    sys.path.insert(0, str(PORT_DIR))
    try:
        from rp2040_boot2_crc import crc32_mpeg2 as tool_crc
    finally:
        sys.path.remove(str(PORT_DIR))
    assert crc32_mpeg2(b"123456789") == tool_crc(b"123456789") == 0x0376E6E7  # CRC-32/MPEG-2's check value


@needs_arm
@pytest.mark.parametrize("name", CORTEX_M_BOARDS)
def test_firmware_builds_and_fits(board_firmware, name):
    firmware = board_firmware(name)
    profile = load_profile(name)
    use = memory_use(firmware.elf, profile)  # every section inside the board's flash and RAM
    assert 0 < use.flash < profile.flash.bytes and profile.stack_bytes < use.ram < profile.ram.bytes
    assert firmware.info["device"] == name and firmware.info["dsp"] == profile.dsp
    assert "firmware for " + name in format_build(firmware)
    symbols = _symbols(firmware.elf)
    vectors = profile.flash.origin + (0x100 if name == "rpi-pico" else 0)  # the RP2040: after the boot stage
    assert symbols["tfc_vectors"] == vectors
    stack_top, reset = struct.unpack("<II", _flash_bytes(firmware.elf, vectors, 8))
    assert stack_top == symbols["__stack_top"] and profile.ram.origin < stack_top <= profile.ram.origin + \
        profile.ram.bytes
    assert reset == symbols["Reset_Handler"] | 1  # a Thumb address
    if name == "rpi-pico":
        boot = _flash_bytes(firmware.elf, profile.flash.origin, 256)
        assert symbols["tfc_rp2040_boot2"] & ~1 == profile.flash.origin
        assert struct.unpack("<I", boot[252:])[0] == crc32_mpeg2(boot[:252])  # the bootrom will take it
        assert struct.pack("<I", vectors) in boot  # VTOR's new value in its literal pool
    if name == "nucleo-h743zi":
        assert symbols["__stack_top"] <= 0x20020000  # data and stack in the DTCM


@needs_arm
def test_flash_without_a_probe_is_one_clear_line(board_firmware):
    firmware = board_firmware("nucleo-f446re")
    from tfcompress.cli import main

    result = CliRunner().invoke(main, ["flash", str(firmware.directory)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("Error: flashing nucleo-f446re: no debug probe is connected") and "pyocd list" in error
    result = CliRunner().invoke(main, ["run", str(firmware.directory), "--text", "lights on"])
    assert result.exit_code == 1 and "real board: give its serial port (--port" in result.output
    result = CliRunner().invoke(main, ["run", str(firmware.directory), "--port", "/dev/ttyNONEXISTENT", "--text", "x"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot open serial port /dev/ttyNONEXISTENT: no such serial port" in result.output


# -- the drivers on QEMU's models of the same peripherals ---------------------------------------------

def _emulated(tmp_path, board: str, machine: str, change) -> Path:
    """The board's profile run on a QEMU machine with the same UART (the counts mean nothing here)."""
    data = json.loads(load_profile(board).path.read_text())
    data["name"] = f"qemu-{machine}"
    data["run"] = {"kind": "qemu", "machine": machine}
    data["counter"] = {"kind": "systick", "unit": "instructions", "numerator": 1, "denominator": 1}
    change(data)
    path = tmp_path / f"qemu-{machine}.json"
    path.write_text(json.dumps(data))
    return path


def _m0(data):  # the micro:bit's nRF51: a Cortex-M0 with 256 KB of flash and 16 KB of RAM
    data.update(core="cortex-m0", cpu_flags=["-mcpu=cortex-m0", "-mthumb"], dsp=False, clock_hz=16_000_000)
    data["memory"]["flash"]["bytes"], data["memory"]["ram"]["bytes"] = 256 << 10, 16 << 10
    data["memory"]["stack_bytes"] = 4096


@needs_arm
@pytest.mark.parametrize("board, machine, change", [
    # STM32F405: USART2 at 0x40004400 with the F4's SR/DR registers, QEMU's serial 1 (serial 0 is USART1)
    ("nucleo-f446re", "netduinoplus2", lambda d: d["run"].update(args=["-serial", "null"])),
    # nRF51: the legacy UART at 0x40002000, the nRF52's register layout
    ("nrf52840-dk", "microbit", _m0),
])
def test_uart_driver_runs_the_harness_on_qemu(dkp_bundle, tiny_dataset, tmp_path, board, machine, change):
    from tfcompress.device.runner import DeviceRunner
    from tfcompress.runners import HostRunner
    from tfcompress.tokenizer import WordTokenizer

    profile = _emulated(tmp_path, board, machine, change)
    firmware = build_firmware(dkp_bundle, profile, tmp_path / "fw")
    texts = list(tiny_dataset.test.texts[:8])
    golden = HostRunner(firmware.tflite, WordTokenizer.load(dkp_bundle / "tokenizer.json"))
    with DeviceRunner.start(firmware) as runner:
        assert runner.banner.board == f"qemu-{machine}"
        assert np.array_equal(runner.run(texts).scores, golden.run(texts).scores)
        assert runner.tokenize("turn on the kitchen lights").tolist() == \
            WordTokenizer.load(dkp_bundle / "tokenizer.json").encode("turn on the kitchen lights").tolist()


# -- the ESP32 boards: an ESP-IDF project ---------------------------------------------------------------

@pytest.fixture()
def no_idf(tmp_path, monkeypatch):
    """A PATH without idf.py (where ESP-IDF is not installed), the tools the build needs still there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.mark.parametrize("name, chip, flash_mb", [("esp32-s3-devkitc", "esp32s3", 8), ("esp32-devkitc", "esp32", 4)])
def test_esp32_build_writes_the_project_and_says_how_to_build_it(dkp_bundle, tmp_path, no_idf, name, chip, flash_mb):
    from tfcompress.device.esp_idf import EspIdfMissing, idf_commands

    out = tmp_path / "fw"
    with pytest.raises(EspIdfMissing) as err:
        build_firmware(dkp_bundle, name, out)
    message = str(err.value)
    project = out / "project"
    assert message.startswith(f"{project}: the ESP-IDF project is written, not built: idf.py is not on PATH")
    assert f"idf.py -C {project} set-target {chip}\n  idf.py -C {project} build" in message
    assert f"~/esp/esp-idf/install.sh {chip}" in message and "git clone -b v5.5 --recursive" in message
    assert idf_commands(project, load_profile(name)) == [["idf.py", "-C", str(project), "set-target", chip],
                                                         ["idf.py", "-C", str(project), "build"]]
    # the folder is written: a firmware folder whose project builds without tfcompress
    firmware = Firmware.load(out)
    assert firmware.info["esp_idf"] == {"project": "project", "target": chip, "built": False}
    assert format_build(firmware).endswith("(not built)")
    top = (project / "CMakeLists.txt").read_text()
    assert "include($ENV{IDF_PATH}/tools/cmake/project.cmake)" in top and "project(tfcompress_firmware)" in top
    main_cmake = (project / "main" / "CMakeLists.txt").read_text()
    assert "idf_component_register(SRCS ${sources} INCLUDE_DIRS ${includes})" in main_cmake
    manifest = (project / "main" / "idf_component.yml").read_text()
    assert "idf:" in manifest and "espressif/esp-tflite-micro:" not in manifest  # the c backend needs no TFLM
    settings = (project / "main" / "tfc_settings.cmake").read_text()
    assert "set(TFC_BACKEND c)" in settings and "set(TFC_UART_DRIVER idf_uart)" in settings
    assert "${CMAKE_CURRENT_LIST_DIR}/../../generated" in settings
    defaults = (project / "sdkconfig.defaults").read_text().splitlines()
    for line in (f'CONFIG_IDF_TARGET="{chip}"', "CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240=y",
                 f"CONFIG_ESPTOOLPY_FLASHSIZE_{flash_mb}MB=y", "CONFIG_ESP_MAIN_TASK_STACK_SIZE=16384",
                 "CONFIG_ESP_CONSOLE_UART_BAUDRATE=115200", "CONFIG_LOG_DEFAULT_LEVEL_ERROR=y"):
        assert line in defaults
    for shared in ("harness/src/tfc_harness.c", "harness/src/tfc_protocol.c", "harness/include/tfc_port.h",
                   "kernels/src/fully_connected_s8.c", "kernels/include/tfc_kernels.h"):
        assert (project / "firmware" / shared).is_file(), shared
    for generated in ("tfc_model.c", "tokenizer_data.c", "labels_data.c", "tfc_build_info.h"):
        assert (out / "generated" / generated).is_file()
    assert '#define TFC_BOARD_CORE "xtensa-lx' in (out / "generated" / "tfc_build_info.h").read_text()
    # flash refuses a project idf.py has not built, naming the file and the command
    from tfcompress.cli import main

    result = CliRunner().invoke(main, ["flash", str(out), "--port", "/dev/null"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "flasher_args.json: missing: the ESP-IDF project is not built yet" in result.output
    assert f"idf.py -C {project} build" in result.output


FAKE_IDF = r'''#!{python}
# Stands in for ESP-IDF's idf.py: logs its arguments and, for `build`, writes what idf.py v5 writes.
import json, os, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join(args) + "\n")
project = args[args.index("-C") + 1]
if args[-1] == "build":
    build = os.path.join(project, "build")
    for name, size in (("bootloader/bootloader.bin", 20000), ("partition_table/partition-table.bin", 3072),
                       ("tfcompress_firmware.bin", 200000), ("tfcompress_firmware.elf", 0)):
        os.makedirs(os.path.dirname(os.path.join(build, name)), exist_ok=True)
        with open(os.path.join(build, name), "wb") as f:
            f.write(bytes(size))
    with open({elf!r}, "rb") as src, open(os.path.join(build, "tfcompress_firmware.elf"), "wb") as dst:
        dst.write(src.read())
    json.dump({{"app_elf": "tfcompress_firmware.elf", "app_bin": "tfcompress_firmware.bin", "target": "esp32s3",
               "git_revision": "v5.5"}}, open(os.path.join(build, "project_description.json"), "w"))
    json.dump({{"write_flash_args": ["--flash_mode", "dio", "--flash_size", "8MB", "--flash_freq", "80m"],
               "flash_settings": {{"flash_mode": "dio", "flash_size": "8MB", "flash_freq": "80m"}},
               "flash_files": {{"0x10000": "tfcompress_firmware.bin", "0x0": "bootloader/bootloader.bin",
                               "0x8000": "partition_table/partition-table.bin"}},
               "extra_esptool_args": {{"after": "hard_reset", "before": "default_reset", "stub": True,
                                      "chip": "esp32s3"}}}}, open(os.path.join(build, "flasher_args.json"), "w"))
'''


@pytest.fixture()
def idf_built(dkp_bundle, tmp_path, no_idf):
    """An esp32-s3-devkitc firmware built by a stand-in idf.py (ESP-IDF is not installed here)."""
    log = tmp_path / "idf.log"
    fake = no_idf / "idf.py"
    # any ELF will do for the stand-in's app: the RAM figure is read from its .dram0 sections (none here)
    fake.write_text(FAKE_IDF.format(python=sys.executable, log=str(log), elf=sys.executable))
    fake.chmod(0o755)
    firmware = build_firmware(dkp_bundle, "esp32-s3-devkitc", tmp_path / "fw")
    return firmware, log


def test_esp32_build_runs_idf_py_set_target_then_build(idf_built):
    firmware, log = idf_built
    project = firmware.directory / "project"
    assert log.read_text().splitlines() == [f"-C {project} set-target esp32s3", f"-C {project} build"]
    info = Firmware.load(firmware.directory).info
    assert info["esp_idf"]["built"] and info["flash"] == 200000 and info["ram"] == 16384
    assert (firmware.directory / "firmware.elf").is_file()
    assert "app image 200,000 bytes of 8,388,608" in format_build(firmware)


def test_esp32_tflm_project_takes_tflm_from_the_component_registry(dkp_bundle, tmp_path, no_idf):
    from tfcompress.device.esp_idf import EspIdfMissing

    with pytest.raises(EspIdfMissing):
        build_firmware(dkp_bundle, "esp32-s3-devkitc", tmp_path / "fw", backend="tflm")
    project = tmp_path / "fw" / "project"
    assert "espressif/esp-tflite-micro:" in (project / "main" / "idf_component.yml").read_text()
    assert "set(TFC_BACKEND tflm)" in (project / "main" / "tfc_settings.cmake").read_text()
    generated = (tmp_path / "fw" / "generated" / "tfc_tflm_model.cc").read_text()
    assert 'resolver.AddCustom("TFC_DKP_FULLY_CONNECTED", Register_TFC_DKP_FULLY_CONNECTED())' in generated
