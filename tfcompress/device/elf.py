"""What a firmware ELF takes of a board's flash and RAM (pyelftools), checked before it is flashed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tfcompress.device.profiles import DeviceProfile, MemoryRegion
from tfcompress.errors import TfcompressError

SHF_ALLOC, SHT_NOBITS = 0x2, "SHT_NOBITS"
MACHINES = {"cortex_m": ("EM_ARM", "an Arm core"), "riscv": ("EM_RISCV", "a RISC-V core")}  # per port


class FitError(TfcompressError):
    """A firmware (or a model) that does not fit the board: the numbers say by how much."""


@dataclass(frozen=True)
class Section:
    name: str
    address: int
    load_address: int
    bytes: int
    in_file: bool  # stored in the image (not .bss or .stack)


@dataclass(frozen=True)
class MemoryUse:
    """Bytes of flash (code, constants, .data's initial values) and RAM (.data, .bss, stack)."""

    flash: int
    ram: int
    sections: tuple[Section, ...]

    def as_dict(self) -> dict:
        return {"flash": self.flash, "ram": self.ram,
                "sections": {s.name: s.bytes for s in self.sections}}


def read_sections(elf_path: str | Path, port: str = "cortex_m") -> list[Section]:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    path = Path(elf_path)
    try:
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            machine, core = MACHINES.get(port, (elf["e_machine"], port))
            if elf["e_machine"] != machine:
                raise TfcompressError(f"{path}: an ELF for {elf['e_machine']}, not for {core}")
            segments = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            sections = []
            for section in elf.iter_sections():
                if not section["sh_flags"] & SHF_ALLOC or section["sh_size"] == 0:
                    continue
                address = section["sh_addr"]
                load = address
                for seg in segments:  # the load address of a section copied at startup (.data)
                    if seg["p_vaddr"] <= address < seg["p_vaddr"] + max(seg["p_memsz"], 1):
                        load = seg["p_paddr"] + address - seg["p_vaddr"]
                sections.append(Section(section.name, address, load, section["sh_size"],
                                        section["sh_type"] != SHT_NOBITS))
            return sections
    except FileNotFoundError:
        raise TfcompressError(f"{path}: no such firmware file (make one with `tfcompress build`)") from None
    except ELFError as err:
        raise TfcompressError(f"{path}: not an ELF file ({err})") from None


def _inside(region: MemoryRegion, start: int, size: int) -> bool:
    return region.origin <= start and start + size <= region.origin + region.bytes


def memory_use(elf_path: str | Path, profile: DeviceProfile) -> MemoryUse:
    """The ELF's flash and RAM use on `profile`'s board, refused with the numbers (FitError) when a
    section lies outside the board's flash and RAM or the image does not fit them."""
    sections = read_sections(elf_path, profile.port)
    in_ram = []  # (start, end) of each section in RAM but the stack
    stack = 0
    stored = []  # (start, end) of each section's bytes in flash
    for s in sections:
        if s.in_file:
            if not _inside(profile.flash, s.load_address, s.bytes):
                raise FitError(_outside(elf_path, s, s.load_address, profile))
            stored.append((s.load_address, s.load_address + s.bytes))
        if s.address != s.load_address or not s.in_file:
            if not _inside(profile.ram, s.address, s.bytes):
                raise FitError(_outside(elf_path, s, s.address, profile))
            if s.name == ".stack":  # the stack counts its size, as the ports' figure does
                stack += s.bytes
            else:
                in_ram.append((s.address, s.address + s.bytes))
    # the image's spans, alignment padding between sections included, as the board's linker symbols count them
    flash = max(end for _, end in stored) - min(start for start, _ in stored) if stored else 0
    ram = stack + (max(end for _, end in in_ram) - min(start for start, _ in in_ram) if in_ram else 0)
    for what, used, region in (("flash", flash, profile.flash), ("RAM", ram, profile.ram)):
        if used > region.bytes:
            raise FitError(f"{elf_path}: needs {used:,} bytes of {what}, {used - region.bytes:,} more than "
                           f"{profile.name} has ({region.bytes:,})")
    return MemoryUse(flash, ram, tuple(sections))


def _outside(elf_path, s: Section, address: int, profile: DeviceProfile) -> str:
    return (f"{elf_path}: section {s.name} ({s.bytes:,} bytes at 0x{address:08x}) lies outside {profile.name}'s "
            f"flash (0x{profile.flash.origin:08x}, {profile.flash.bytes:,} bytes) and RAM "
            f"(0x{profile.ram.origin:08x}, {profile.ram.bytes:,} bytes): it was built for another board")


FLASH_PARTS = {"tfc_model.c.obj": "model", "tokenizer_data.c.obj": "tokenizer", "labels_data.c.obj": "labels",
               "model_data.c.obj": "model", "tfc_tflm_model.cc.obj": "model"}  # the last two: the TFLM backend's


def flash_by_part(map_path: str | Path) -> dict[str, int]:
    """Bytes of flash per part of the image, from the linker's map: the model (the generated C's
    constants and code, or the .tflite and its resolver), the tokenizer's vocabulary, the label
    names, TFLM's library (the TFLM backend), and the rest (harness, kernels, port, C library,
    alignment): what the 16 KB budget of the firmware itself counts."""
    import re

    parts = {"model": 0, "tokenizer": 0, "labels": 0, "firmware": 0}
    section, in_map = None, False
    entry = re.compile(r"^\s*(\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$")
    for line in Path(map_path).read_text(errors="replace").splitlines():
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        if line.startswith(".") or (line and not line[0].isspace()):
            section = line.split()[0]
            continue
        if section not in (".text", ".ARM.exidx", ".data"):
            continue
        match = entry.match(line)
        if match is None or match.group(4).startswith("0x"):
            continue  # a section name alone on its line (its numbers follow), symbols, fill
        size = int(match.group(3), 16)
        name = Path(match.group(4)).name
        if name.startswith("libtensorflow-microlite.a("):
            parts["tflm"] = parts.get("tflm", 0) + size
        else:
            parts[FLASH_PARTS.get(name, "firmware")] += size
    return parts
