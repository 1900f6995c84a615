#!/usr/bin/env python3
"""Writes the fuzz_elf seed corpus (corpus/fuzz_elf/) from small real executables: the C program
below built as a PIE and as a fixed-address executable, and /bin/true, plus truncated copies and
copies whose headers lie (counts, offsets, string indexes). (tests/fixtures/elf_fixture.c is
200 KB, too big for a seed: it aligns .data to 64 KiB.)
Run from anywhere: python3 tests/fuzz/make_elf_seeds.py (needs cc)."""
import os
import struct
import subprocess
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "fuzz_elf")
PROGRAM = r"""
int data_word = 0x12345678;              /* .data */
char bss_bytes[8192];                    /* .bss */
const char rodata_text[64] = "rodata";   /* .rodata */
__thread int tls_data = 1;               /* .tdata */
__thread int tls_bss;                    /* .tbss */
const char* const relro[] = {"a", "b"};  /* .data.rel.ro in a PIE */
int main(int argc, char** argv)
{
    (void)argv;
    return data_word + rodata_text[argc & 7] + bss_bytes[argc] + tls_data + tls_bss + relro[argc & 1][0];
}
"""
os.makedirs(out, exist_ok=True)


def build(flags):
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "seed.c"), os.path.join(d, "a.out")
        open(src, "w").write(PROGRAM)
        subprocess.run(["cc", "-O1", "-s", *flags, src, "-o", exe], check=True)
        return open(exe, "rb").read()


def write(name, data):
    assert len(data) < 64 * 1024, name
    open(os.path.join(out, name), "wb").write(data)


def patch(data, off, fmt, value):
    b = bytearray(data)
    struct.pack_into("<" + fmt, b, off, value)
    return bytes(b)


# ELF64 header fields: e_type 16 H, e_phoff 32 Q, e_shoff 40 Q, e_phentsize 54 H, e_phnum 56 H,
# e_shentsize 58 H, e_shnum 60 H, e_shstrndx 62 H.
pie = build(["-fPIE", "-pie"])
nopie = build(["-fno-pie", "-no-pie"])
write("pie", pie)
write("nopie", nopie)
write("bin_true", open("/bin/true", "rb").read())
write("trunc_ehdr", pie[:64])
write("trunc_40", pie[:40])
write("trunc_phdrs", pie[:64 + 56 * 3])
write("trunc_half", pie[: len(pie) // 2])
write("trunc_no_shdrs", pie[: struct.unpack_from("<Q", pie, 40)[0]])
write("huge_shnum", patch(pie, 60, "H", 0xffff))
write("huge_phnum", patch(pie, 56, "H", 0xffff))
write("shoff_past_end", patch(pie, 40, "Q", len(pie) + 4096))
write("shoff_wraps", patch(pie, 40, "Q", 0xffffffffffffff00))
write("phoff_past_end", patch(pie, 32, "Q", len(pie) + 4096))
write("bad_shstrndx", patch(pie, 62, "H", 0xfffe))
write("shstrndx_xindex", patch(patch(pie, 62, "H", 0xffff), 60, "H", 0))
write("bad_shentsize", patch(pie, 58, "H", 1))
write("bad_phentsize", patch(pie, 54, "H", 7))
write("exec_type", patch(pie, 16, "H", 2))
write("elf32_class", patch(pie, 4, "B", 1))
write("big_endian", patch(pie, 5, "B", 2))

# Section headers whose names, addresses and sizes lie.
shoff, = struct.unpack_from("<Q", pie, 40)
shnum, = struct.unpack_from("<H", pie, 60)
lying = bytearray(pie)
for i in range(1, shnum):
    base = shoff + 64 * i
    if i % 3 == 0:
        struct.pack_into("<I", lying, base, 0xfffffff0)            # sh_name past .shstrtab
    if i % 3 == 1:
        struct.pack_into("<Q", lying, base + 32, 0xfffffffffffff000)  # sh_size: addr + size wraps
    if i % 3 == 2:
        struct.pack_into("<Q", lying, base + 24, 0xffffffffffff0000)  # sh_offset past the file
write("lying_sections", bytes(lying))
