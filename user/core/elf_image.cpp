#include "elf_image.h"

#include <algorithm>
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
    // Read the whole file through libelf's own reader; close our fd once libelf is done.
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
            if (image->loads_.empty()) {
                image.reset();
                if (error)
                    *error = path + ": ELF file without loadable segments";
            }
        }
    } else if (error) {
        *error = path + ": not an ELF file";
    }
    elf.reset();
    ::close(fd);
    return image;
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

std::shared_ptr<const ElfImage> ElfCache::get(const std::string& path)
{
    // Keyed by what the path names now, not by the path: a rebuilt binary is a new file.
    struct stat st {};
    std::string key = path;
    if (stat(path.c_str(), &st) == 0)
        key += '\0' + std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':' +
               std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec);
    auto it = images_.find(key);
    if (it != images_.end())
        return it->second;
    auto image = ElfImage::load(path);
    images_.emplace(key, image);
    return image;
}

}  // namespace memtrace
