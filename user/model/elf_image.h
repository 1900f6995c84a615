// The parts of an ELF file that segment attribution needs: its allocated sections and loadable
// segments, read with libelf.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace memtrace {

struct ElfSection {
    std::string name;
    uint64_t addr = 0;  // link-time virtual address
    uint64_t size = 0;
    bool nobits = false;  // SHT_NOBITS (.bss): no bytes in the file
    bool writable = false, executable = false;
};

struct ElfLoad {
    uint64_t vaddr = 0, memsz = 0, offset = 0, filesz = 0;
    bool writable = false, executable = false;
};

class ElfImage {
public:
    // Reads the file; nullopt-like nullptr result with `error` set when it is not a usable ELF.
    static std::shared_ptr<const ElfImage> load(const std::string& path, std::string* error = nullptr);
    // Same, from an open descriptor (not closed here).
    static std::shared_ptr<const ElfImage> load_fd(int fd, const std::string& name, std::string* error = nullptr);
    // Same, from bytes in memory (fuzzing, tests).
    static std::shared_ptr<const ElfImage> parse(const void* data, size_t size, std::string* error = nullptr);
    // The layout as a trace file recorded it (see mt_object).
    static std::shared_ptr<const ElfImage> from_parts(std::vector<ElfLoad> loads, std::vector<ElfSection> sections,
                                                      bool pie, std::string build_id);

    const std::vector<ElfSection>& sections() const { return sections_; }  // sorted by addr
    const std::vector<ElfLoad>& loads() const { return loads_; }
    bool position_independent() const { return pie_; }
    // The GNU build ID (NT_GNU_BUILD_ID note), raw bytes; empty when the file has none.
    const std::string& build_id() const { return build_id_; }
    // End of the highest PT_LOAD in memory (link-time address): where the image's .bss stops.
    uint64_t image_end() const;

    // The allocated section that holds link-time address `vaddr`, or nullptr.
    const ElfSection* section_at(uint64_t vaddr) const;
    // Link-time address of file offset `offset` of a mapping with these permissions.
    std::optional<uint64_t> vaddr_of_offset(uint64_t offset, bool writable, bool executable) const;

private:
    std::vector<ElfSection> sections_;
    std::vector<ElfLoad> loads_;
    bool pie_ = false;
    std::string build_id_;
};

// "4f2a..." from raw build-ID bytes.
std::string build_id_hex(const std::string& build_id);

// Sections grouped the way a reader of a memory layout thinks of them:
// ".text" (.text .init .fini), ".plt", ".rodata", ".eh_frame", ".dynsym" (what the dynamic
// linker reads: .dynsym .dynstr .gnu.hash .rela.* .note.* ...), ".data.rel.ro" (RELRO: .dynamic
// .init_array .data.rel.ro ...), ".got", ".data", ".bss", ".tdata". A section with another name
// joins the group its flags put it in (executable: .text, no file bytes: .bss, writable: .data,
// else .rodata): glibc's __libc_IO_vtables is data, whatever its name.
std::string section_group(const ElfSection& section);


}  // namespace memtrace
