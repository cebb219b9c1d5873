"""Writes the CRC-32 the RP2040's bootrom checks into a linked firmware ELF's .boot2 section.

The bootrom accepts the 256 bytes at the start of flash only if their last 4 bytes are the CRC-32
of the first 252 (RP2040 datasheet, section 2.8.1.3.1: polynomial 0x04C11DB7, no reflection,
initial value 0xFFFFFFFF, no final XOR, stored little-endian). Run after the link (port.cmake):
    python3 rp2040_boot2_crc.py firmware.elf
Standard library only; the ELF is patched in place (32-bit little-endian, as arm-none-eabi-gcc
writes it).
"""

import struct
import sys


def crc32_mpeg2(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def boot2_file_offset(elf: bytes) -> int:
    """Where the boot stage's 256 bytes are in the file: at the symbol tfc_rp2040_boot2 (uart_rp2040.c),
    which the linker script puts first in flash."""
    if elf[:4] != b"\x7fELF" or elf[4] != 1 or elf[5] != 1:
        raise SystemExit("not a 32-bit little-endian ELF")
    shoff, = struct.unpack_from("<I", elf, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x2E)
    # name, type, flags, addr, offset, size, link, info, addralign, entsize
    sections = [struct.unpack_from("<IIIIIIIIII", elf, shoff + i * shentsize) for i in range(shnum)]
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != 2:  # SHT_SYMTAB
            continue
        strings = sections[link][4]
        for entry in range(offset, offset + size, entsize):
            name, value, _size, _info, _other, index = struct.unpack_from("<IIIBBH", elf, entry)
            if elf[strings + name:elf.index(b"\0", strings + name)] == b"tfc_rp2040_boot2":
                address = value & ~1  # a Thumb function's address has bit 0 set
                _n, _k, _f, section_addr, section_offset, *_ = sections[index]
                if address % 256:
                    raise SystemExit(f"the boot stage is at 0x{address:08x}, not at the start of flash")
                return section_offset + address - section_addr
    raise SystemExit("no symbol tfc_rp2040_boot2: is uart_rp2040.c linked in?")


def main(path: str) -> None:
    with open(path, "r+b") as stream:
        elf = stream.read()
        offset = boot2_file_offset(elf)
        crc = struct.pack("<I", crc32_mpeg2(elf[offset:offset + 252]))
        if elf[offset + 252:offset + 256] not in (bytes(4), crc):
            raise SystemExit("the boot stage's code reaches into its last 4 bytes, which hold the CRC")
        stream.seek(offset + 252)
        stream.write(crc)


if __name__ == "__main__":
    main(sys.argv[1])
