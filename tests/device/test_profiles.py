"""Board profiles: the shipped ones load; a damaged one is refused naming the file and the field."""

from __future__ import annotations

import json

import pytest

from tfcompress.device.profiles import DEFAULT_DEVICE, DeviceProfileError, all_profiles, device_names, load_profile


def test_shipped_profiles_load():
    names = device_names()
    assert {"qemu-mps2-an386", "qemu-mps2-an500", "qemu-mps3-an547"} <= set(names)
    assert DEFAULT_DEVICE in names
    for profile in all_profiles():
        assert profile.flash.bytes > 0 and profile.ram.bytes > profile.stack_bytes
        if not profile.emulated:  # the real boards: tests/device/test_boards.py
            continue
        assert profile.run["machine"] in profile.name
        assert profile.counter_unit == "instructions"  # QEMU has no DWT: SysTick under -icount counts instructions
    m4 = load_profile(DEFAULT_DEVICE)
    assert m4.core == "cortex-m4" and m4.dsp and m4.clock_hz == 25_000_000 and m4.counter_scale == (40, 1)
    rv = load_profile("qemu-riscv32-virt")  # minstret under -icount shift=0: one count per instruction
    assert (rv.port, rv.core, rv.dsp, rv.counter_kind, rv.counter_scale) == \
        ("riscv", "rv32imc", False, "minstret", (1, 1))


def _write(tmp_path, change, stem: str = DEFAULT_DEVICE) -> str:
    data = json.loads(load_profile(DEFAULT_DEVICE).path.read_text())
    change(data)
    path = tmp_path / f"{stem}.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d.pop("clock_hz"), "clock_hz", "missing"),
    (lambda d: d.update(clock_hz="fast"), "clock_hz", "positive integer"),
    (lambda d: d["memory"]["flash"].update(origin=4096), "memory.flash.origin", "hex address"),
    (lambda d: d["memory"]["ram"].update(bytes=-1), "memory.ram.bytes", "positive integer"),
    (lambda d: d["memory"].update(stack_bytes=10), "memory.stack_bytes", "multiple of 8"),
    (lambda d: d["memory"]["ram"].update(origin="0x00001000"), "memory", "overlap"),
    (lambda d: d["counter"].update(kind="rdtsc"), "counter.kind", "dwt, systick"),
    (lambda d: d["counter"].update(kind="dwt"), "counter.unit", "cycles"),
    (lambda d: d["counter"].update(kind="minstret", unit="cycles"), "counter.unit", "minstret counts instructions"),
    (lambda d: d.update(port="avr"), "port", "cortex_m"),
    (lambda d: d["uart"].update(baud=10_000_000), "uart.baud", "too fast"),
    (lambda d: d["run"].update(args="-s"), "run.args", "list of strings"),
    (lambda d: d.update(cpu_flags=[1]), "cpu_flags", "list of strings"),
])
def test_damaged_profile_names_file_and_field(tmp_path, change, field, words):
    path = _write(tmp_path, change)
    with pytest.raises(DeviceProfileError) as err:
        load_profile(path)
    assert path in str(err.value) and f"field {field!r}" in str(err.value) and words in str(err.value)


def test_unknown_device_lists_the_known_ones(tmp_path):
    with pytest.raises(DeviceProfileError, match="known devices: .*qemu-mps2-an386"):
        load_profile("stm32-nowhere")
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(DeviceProfileError, match="broken.json: not a JSON file"):
        load_profile(bad)
    renamed = _write(tmp_path, lambda d: d.update(name="other-name"))
    with pytest.raises(DeviceProfileError, match="field 'name'"):  # the name must be the file's stem
        load_profile(renamed)
