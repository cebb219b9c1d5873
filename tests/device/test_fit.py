"""`devices --fit`: a model built for each board, listed with the room it leaves or what it lacks."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.helpers import board_tools_missing
from tfcompress.device.fit import fit_boards, format_fit
from tfcompress.device.profiles import DEFAULT_DEVICE, load_profile

pytestmark = pytest.mark.skipif(board_tools_missing() is not None, reason=str(board_tools_missing()))


def _small_board(tmp_path, flash_bytes: int):
    data = json.loads(load_profile(DEFAULT_DEVICE).path.read_text())
    data["name"] = "small-board"
    data["memory"]["flash"]["bytes"] = flash_bytes
    path = tmp_path / "small-board.json"
    path.write_text(json.dumps(data))
    return load_profile(path)


def test_fits_with_room_and_overflows_with_numbers(dkp_bundle, tmp_path):
    rows = fit_boards(dkp_bundle, [load_profile(DEFAULT_DEVICE), _small_board(tmp_path, 8192)])
    default, small = rows
    assert default.fits and 0 < default.flash < default.flash_capacity and 0 < default.ram < default.ram_capacity
    assert small.fits is False and small.flash is None
    assert "flash overflowed by" in small.note
    overflow = int(small.note.split("overflowed by ")[1].split()[0].replace(",", ""))
    assert overflow == pytest.approx(default.flash - 8192, abs=64)  # the same image, 8 KB of room
    table = format_fit(rows)
    assert f"{default.flash_capacity - default.flash:,}" in table and "NO" in table


def test_cli_devices_fit(dkp_bundle):
    from tfcompress.cli import main

    result = CliRunner().invoke(main, ["devices", "--fit", str(dkp_bundle), "--device", DEFAULT_DEVICE, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output[result.output.index("["):])
    assert [(r["device"], r["fits"]) for r in rows] == [(DEFAULT_DEVICE, True)]
