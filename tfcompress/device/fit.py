"""`tfcompress devices --fit BUNDLE`: which boards a model fits, and with how much room.

Each board's firmware is really built (into a temporary folder) and measured as `build` measures
it: the linker places every byte, so the numbers are the image's, not an estimate. A board whose
tools are not installed is listed as unchecked, with what it needs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tfcompress.device.build import ToolMissing, build_firmware, read_bundle
from tfcompress.device.elf import FitError
from tfcompress.device.profiles import DeviceProfile, all_profiles
from tfcompress.errors import TfcompressError


@dataclass(frozen=True)
class BoardFit:
    device: str
    flash: int | None  # bytes the image takes (None: not measured)
    flash_capacity: int
    ram: int | None
    ram_capacity: int
    fits: bool | None  # None: not checked (see note)
    note: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def fit_boards(bundle: str | Path, profiles: list[DeviceProfile] | None = None, backend: str = "c", tflm=None,
               progress: Callable[[str], None] | None = None) -> list[BoardFit]:
    """Builds `bundle` for every board (default: all profiles) and says whether and how it fits."""
    from tfcompress.device.esp_idf import EspIdfMissing

    read_bundle(Path(bundle))  # a bad bundle is one error, not one per board
    rows = []
    for profile in profiles if profiles is not None else all_profiles():
        if progress:
            progress(profile.name)
        capacity = dict(flash_capacity=profile.flash.bytes, ram_capacity=profile.ram.bytes)
        with tempfile.TemporaryDirectory(prefix="tfc-fit-") as tmp:
            try:
                info = build_firmware(bundle, profile.path, Path(tmp) / "fw", backend=backend, tflm=tflm).info
            except FitError as err:
                rows.append(BoardFit(profile.name, None, ram=None, fits=False, note=_reason(err), **capacity))
                continue
            except ToolMissing as err:
                rows.append(BoardFit(profile.name, None, ram=None, fits=None, note=f"not checked: {err}", **capacity))
                continue
            except EspIdfMissing:
                rows.append(BoardFit(profile.name, None, ram=None, fits=None, **capacity,
                                     note="not checked: needs ESP-IDF's idf.py (docs/boards.md)"))
                continue
            except TfcompressError as err:  # the whole error is `build`'s to show; here its first line
                first = str(err).splitlines()[0][:160]
                rows.append(BoardFit(profile.name, None, ram=None, fits=None, note=f"not built: {first}", **capacity))
                continue
        rows.append(BoardFit(profile.name, info["flash"], ram=info["ram"], fits=True, **capacity))
    return rows


def _reason(err: FitError) -> str:
    text = str(err)
    return text.split(": ", 1)[1] if text.startswith("/") and ": " in text else text


def format_fit(rows: list[BoardFit]) -> str:
    lines = [f"{'device':<20}{'fits':<6}{'flash used / of':>24}{'room':>11}{'RAM used / of':>24}{'room':>11}"]
    for r in rows:
        fits = {True: "yes", False: "NO", None: "?"}[r.fits]
        if r.flash is None:
            lines.append(f"{r.device:<20}{fits:<6}{r.note}")
            continue
        lines.append(f"{r.device:<20}{fits:<6}{r.flash:>11,} / {r.flash_capacity:>10,}{r.flash_capacity - r.flash:>11,}"
                     f"{r.ram:>11,} / {r.ram_capacity:>10,}{r.ram_capacity - r.ram:>11,}")
    return "\n".join(lines)
