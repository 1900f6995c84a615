// ELF files as memtrace meets them when a traced process maps one: truncated, lying section and
// program headers, huge counts. ElfImage::parse must return nullptr or a consistent image.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/elf_image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string error;
    auto image = memtrace::ElfImage::parse(data, size, &error);
    if (!image)
        return 0;
    if (image->loads().empty())
        __builtin_trap();  // parse promises at least one PT_LOAD
    uint64_t end = image->image_end();
    const auto& sections = image->sections();
    for (size_t i = 0; i < sections.size(); ++i) {
        const memtrace::ElfSection& s = sections[i];
        if (i && sections[i - 1].addr > s.addr)
            __builtin_trap();  // sorted by address
        (void)memtrace::section_group(s);
        for (uint64_t a : {s.addr, s.addr + s.size - 1, s.addr + s.size, s.addr - 1})
            if (const memtrace::ElfSection* hit = image->section_at(a))
                if (a < hit->addr || a - hit->addr >= hit->size)
                    __builtin_trap();  // section_at must return a section that holds the address
    }
    for (const memtrace::ElfLoad& l : image->loads()) {
        for (uint64_t off : {l.offset, l.offset + l.filesz, l.offset & ~uint64_t(0xfff), l.offset + l.filesz - 1})
            for (int perm = 0; perm < 4; ++perm)
                if (auto v = image->vaddr_of_offset(off, perm & 1, perm & 2))
                    (void)image->section_at(*v);
        (void)image->section_at(l.vaddr);
        (void)image->section_at(end);
    }
    return 0;
}
