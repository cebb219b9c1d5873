"""`tfcompress doctor`: every tool a board or backend needs, found or with the way to get it."""

from __future__ import annotations

from click.testing import CliRunner

from tfcompress.device.doctor import format_checks, run_checks


def test_missing_tools_say_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with nothing on it
    monkeypatch.delenv("TFLM_DIR", raising=False)
    monkeypatch.delenv("TFLM_LIB", raising=False)
    checks = {c.need: c for c in run_checks()}
    assert not checks["building firmware (cortex_m)"].found
    assert "apt-get install cmake gcc-arm-none-eabi" in checks["building firmware (cortex_m)"].detail
    assert "qemu-system-misc" in checks["emulated boards (riscv)"].detail
    assert "docs/tflm.md" in checks["TFLM backend (build --backend tflm)"].detail
    assert "libstdc++-arm-none-eabi-newlib" in checks["TFLM backend on Cortex-M: arm-none-eabi's libstdc++ (nano)"].detail
    assert "ESP-IDF" in checks["building for ESP32 boards (ESP-IDF)"].detail
    assert format_checks(list(checks.values())).count("NO ") >= 6


def test_cli_doctor_lists_every_need():
    from tfcompress.cli import main

    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "pyOCD" in result.output and "esptool" in result.output and "TFLM backend" in result.output
