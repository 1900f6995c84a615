#include "model/elf_image.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>

namespace memtrace {
namespace {

struct ElfCloser {
    void operator()(Elf* e) const { elf_end(e); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

bool starts_with(const std::string& s, const char* prefix)
{
    return s.rfind(prefix, 0) == 0;
}

}  // namespace

std::string section_group(const ElfSection& section)
{
    const std::string& n = section.name;
    if (n == ".text" || n == ".init" || n == ".fini" || starts_with(n, ".text."))
        return ".text";
    if (starts_with(n, ".plt") || n == ".iplt")
        return ".plt";
    if (starts_with(n, ".rodata"))
        return ".rodata";
    if (n == ".eh_frame" || n == ".eh_frame_hdr" || n == ".gcc_except_table" || n == ".sframe")
        return ".eh_frame";
    if (n == ".interp" || starts_with(n, ".note") || n == ".gnu.hash" || n == ".hash" ||
        n == ".dynsym" || n == ".dynstr" || starts_with(n, ".gnu.version") || starts_with(n, ".rela") ||
        starts_with(n, ".rel.") || n == ".relr.dyn")
        return ".dynsym";
    if (n == ".got" || n == ".got.plt")
        return ".got";
    if (starts_with(n, ".data.rel.ro") || n == ".dynamic" || n == ".init_array" || n == ".fini_array" ||
        n == ".preinit_array" || n == ".ctors" || n == ".dtors")
        return ".data.rel.ro";
    if (starts_with(n, ".data") || n == ".tm_clone_table")
        return ".data";
    if (starts_with(n, ".bss"))
        return ".bss";
    if (n == ".tdata")
        return ".tdata";
    if (section.executable)
        return ".text";
    if (section.nobits)
        return ".bss";
    return section.writable ? ".data" : ".rodata";
}

std::shared_ptr<const ElfImage> ElfImage::load(const std::string& path, std::string* error)
{
    // memtrace runs as root and opens whatever the target mapped: regular files only, and never
    // block on a FIFO or a device.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st {};
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        ::close(fd);
        fd = -1;
    }
    if (fd < 0) {
        if (error)
            *error = "cannot open " + path + " as a regular file";
        return nullptr;
    }
    auto image = load_fd(fd, path, error);
    ::close(fd);
    return image;
}

namespace {

// The NT_GNU_BUILD_ID note's bytes, from the SHT_NOTE sections (or the PT_NOTE segments of a file
// without section headers).
std::string read_build_id(Elf* elf)
{
    auto from_data = [](Elf_Data* data) -> std::string {
        GElf_Nhdr nhdr;
        size_t name_off = 0, desc_off = 0;
        for (size_t off = 0; data && (off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0;) {
            const char* base = static_cast<const char*>(data->d_buf);
            if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 && std::memcmp(base + name_off, "GNU", 4) == 0)
                return std::string(base + desc_off, nhdr.n_descsz);
        }
        return {};
    };
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE)
            if (std::string id = from_data(elf_getdata(scn, nullptr)); !id.empty())
                return id;
    }
    size_t nphdr = 0;
    if (elf_getphdrnum(elf, &nphdr) != 0)
        return {};
    for (size_t i = 0; i < nphdr; ++i) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_NOTE)
            if (std::string id = from_data(elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_NHDR));
                !id.empty())
                return id;
    }
    return {};
}

}  // namespace

std::shared_ptr<const ElfImage> ElfImage::load_fd(int fd, const std::string& path, std::string* error)
{
    // Read the whole file through libelf's own reader.
    elf_version(EV_CURRENT);
    ElfHandle elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
    std::shared_ptr<ElfImage> image;
    if (elf && elf_kind(elf.get()) == ELF_K_ELF) {
        image = std::make_shared<ElfImage>();
        GElf_Ehdr ehdr;
        if (!gelf_getehdr(elf.get(), &ehdr)) {
            image.reset();
        } else {
            image->pie_ = ehdr.e_type == ET_DYN;
            size_t nphdr = 0;
            if (elf_getphdrnum(elf.get(), &nphdr) == 0) {
                for (size_t i = 0; i < nphdr; ++i) {
                    GElf_Phdr ph;
                    if (gelf_getphdr(elf.get(), (int)i, &ph) && ph.p_type == PT_LOAD)
                        image->loads_.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz,
                                                 (ph.p_flags & PF_W) != 0, (ph.p_flags & PF_X) != 0});
                }
            }
            size_t shstrndx = 0;
            if (elf_getshdrstrndx(elf.get(), &shstrndx) == 0) {
                for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
                    GElf_Shdr sh;
                    if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_size == 0)
                        continue;
                    // .tbss occupies no address space of its own: it overlaps what follows.
                    if ((sh.sh_flags & SHF_TLS) && sh.sh_type == SHT_NOBITS)
                        continue;
                    const char* name = elf_strptr(elf.get(), shstrndx, sh.sh_name);
                    if (!name || sh.sh_addr + sh.sh_size < sh.sh_addr)
                        continue;
                    image->sections_.push_back({name, sh.sh_addr, sh.sh_size, sh.sh_type == SHT_NOBITS,
                                                (sh.sh_flags & SHF_WRITE) != 0, (sh.sh_flags & SHF_EXECINSTR) != 0});
                }
            }
            std::sort(image->sections_.begin(), image->sections_.end(),
                      [](const ElfSection& a, const ElfSection& b) { return a.addr < b.addr; });
            image->build_id_ = read_build_id(elf.get());
            if (image->loads_.empty()) {
                image.reset();
                if (error)
                    *error = path + ": ELF file without loadable segments";
            }
        }
    } else if (error) {
        *error = path + ": not an ELF file";
    }
    return image;
}

std::shared_ptr<const ElfImage> ElfImage::from_parts(std::vector<ElfLoad> loads, std::vector<ElfSection> sections,
                                                     bool pie, std::string build_id)
{
    auto image = std::make_shared<ElfImage>();
    image->loads_ = std::move(loads);
    image->sections_ = std::move(sections);
    std::sort(image->sections_.begin(), image->sections_.end(),
              [](const ElfSection& a, const ElfSection& b) { return a.addr < b.addr; });
    image->pie_ = pie;
    image->build_id_ = std::move(build_id);
    if (image->loads_.empty())
        return nullptr;
    return image;
}

std::string build_id_hex(const std::string& build_id)
{
    static const char digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : build_id) {
        hex += digits[c >> 4];
        hex += digits[c & 15];
    }
    return hex;
}

std::shared_ptr<const ElfImage> ElfImage::parse(const void* data, size_t size, std::string* error)
{
    char tmpl[] = "/tmp/memtrace-elf-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return nullptr;
    unlink(tmpl);
    std::string path = std::string("/proc/self/fd/") + std::to_string(fd);
    bool ok = ::write(fd, data, size) == (ssize_t)size;
    auto image = ok ? load(path, error) : nullptr;
    ::close(fd);
    return image;
}

const ElfSection* ElfImage::section_at(uint64_t vaddr) const
{
    auto it = std::upper_bound(sections_.begin(), sections_.end(), vaddr,
                               [](uint64_t v, const ElfSection& s) { return v < s.addr; });
    // A few sections may overlap (TLS templates); look back over a handful, not the whole table.
    for (int i = 0; i < 4 && it != sections_.begin(); ++i) {
        --it;
        if (vaddr < it->addr + it->size)
            return &*it;
    }
    return nullptr;
}

std::optional<uint64_t> ElfImage::vaddr_of_offset(uint64_t offset, bool writable, bool executable) const
{
    // Old linkers let two PT_LOADs share a file page; the mapping's permissions pick the one
    // it came from (exec first: RELRO makes part of a writable segment read-only).
    std::optional<uint64_t> best;
    int best_score = -1;
    for (const ElfLoad& l : loads_) {
        uint64_t page_off = l.offset & ~0xfffULL;
        uint64_t span = l.filesz + (l.offset - page_off);
        if (offset < page_off || offset >= page_off + std::max<uint64_t>(span, 1))
            continue;
        int score = 2 * (l.executable == executable) + (l.writable == writable);
        if (score > best_score) {
            best_score = score;
            best = l.vaddr - (l.offset - page_off) + (offset - page_off);
        }
    }
    return best;
}

uint64_t ElfImage::image_end() const
{
    uint64_t end = 0;
    for (const ElfLoad& l : loads_)
        end = std::max(end, l.vaddr + l.memsz);
    return end;
}

}  // namespace memtrace
