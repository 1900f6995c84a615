#include "symbols/symbolizer.h"

#include <algorithm>
#include <array>
#include <optional>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <elfutils/libdw.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <fmt/format.h>

#include "model/segments.h"
#include "symbols/inline_scopes.h"

namespace memtrace {
namespace {

// memtrace runs as root and opens whatever the target mapped: regular files only, and never
// block on a FIFO or a device. -1 when `path` is not one.
int open_regular(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st {};
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        ::close(fd);
        fd = -1;
    }
    return fd;
}

// libdwfl also reads gzip/bzip2/xz/zstd files and images with a header in front of the ELF,
// decompressing them into memory; a mapped file is code only if it starts as ELF.
bool has_elf_magic(int fd)
{
    unsigned char magic[4];
    return ::pread(fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic && std::memcmp(magic, "\177ELF", 4) == 0;
}

// The CRC-32 that .gnu_debuglink records (the zlib polynomial) of a whole file.
bool file_crc32(int fd, uint32_t* crc_out)
{
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t crc = 0xffffffffu;
    unsigned char buf[65536];
    off_t pos = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, pos);
        if (n < 0)
            return false;
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; ++i)
            crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
        pos += n;
    }
    *crc_out = crc ^ 0xffffffffu;
    return true;
}

// The .gnu_debuglink file of `file_name`, where gdb and dwfl_standard_find_debuginfo look: next
// to the file, in .debug/ beside it, under /usr/lib/debug + its directory; for the file's path and,
// when that goes through a symlink (/lib -> /usr/lib), its real path. Checked by CRC.
int find_debuglink(const char* file_name, const char* debuglink, GElf_Word crc, char** found)
{
    if (!file_name || !debuglink || !*debuglink || std::strchr(debuglink, '/'))
        return -1;
    struct stat self {};
    bool have_self = ::stat(file_name, &self) == 0;
    std::vector<std::string> names = {file_name};
    if (char* real = ::realpath(file_name, nullptr)) {
        if (names[0] != real)
            names.push_back(real);
        std::free(real);
    }
    for (const std::string& file : names) {
        size_t slash = file.rfind('/');
        std::string dir = slash == std::string::npos ? "." : file.substr(0, slash);
        std::vector<std::string> candidates = {dir + "/" + debuglink, dir + "/.debug/" + debuglink};
        if (dir[0] == '/')
            candidates.push_back("/usr/lib/debug" + dir + "/" + debuglink);
        for (const std::string& candidate : candidates) {
            int fd = open_regular(candidate);
            if (fd < 0)
                continue;
            struct stat st {};
            uint32_t actual = 0;
            bool is_self = have_self && fstat(fd, &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino;
            if (!is_self && has_elf_magic(fd) && file_crc32(fd, &actual) && actual == crc) {
                *found = ::strdup(candidate.c_str());
                return fd;
            }
            ::close(fd);
        }
    }
    return -1;
}

// Separate debug info, found locally only: by build ID under /usr/lib/debug/.build-id (Debian's
// -dbgsym packages, dwz files), then by .gnu_debuglink. dwfl_standard_find_debuginfo does the
// same two steps but then, for every file without debug info, dlopens libdebuginfod (and curl,
// sockets and all) and asks the servers of $DEBUGINFOD_URLS: not at render time, not as root.
int find_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base, const char* file_name,
                   const char* debuglink_file, GElf_Word debuglink_crc, char** debuginfo_file_name)
{
    int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
                                          debuginfo_file_name);
    if (fd >= 0)
        return fd;
    return find_debuglink(file_name, debuglink_file, debuglink_crc, debuginfo_file_name);
}

// Every file is reported with its descriptor, so libdwfl never has to find one by itself.
int find_no_elf(Dwfl_Module*, void**, const char*, Dwarf_Addr, char**, Elf**)
{
    return -1;
}

char* default_debuginfo_path = nullptr;  // libdwfl's default: ":.debug:/usr/lib/debug"

const Dwfl_Callbacks callbacks = {
    find_no_elf,
    find_debuginfo,
    dwfl_offline_section_address,
    &default_debuginfo_path,
};

std::string demangle(const char* name)
{
    if (name[0] == '_' && name[1] == 'Z') {
        int status = 0;
        char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
        if (out && status == 0) {
            std::string s = out;
            std::free(out);
            return s;
        }
        std::free(out);
    }
    return name;
}

}  // namespace

namespace {

struct UnitRange {
    Dwarf_Addr low, high;  // libdwfl addresses, [low, high)
    Dwarf_Die unit;
};

}  // namespace

// One libdwfl session per file, holding the file open; dwfl is null for a file that is not ELF.
struct Symbolizer::Module {
    std::string path;
    Dwfl* dwfl = nullptr;
    Dwfl_Module* mod = nullptr;
    Dwarf_Addr bias = 0;  // what libdwfl adds to link-time addresses (0: reported at base 0)

    // Address ranges of each compile unit, from the units themselves: built on first need, for
    // files without .debug_aranges (clang does not emit them), where libdw 0.188 finds no line.
    std::optional<std::vector<UnitRange>> unit_ranges;
    // Each unit's inlined scopes, by the unit's DIE offset, read on first need.
    std::unordered_map<Dwarf_Off, std::unique_ptr<InlineScopes>> inline_scopes;

    ~Module()
    {
        if (dwfl)
            dwfl_end(dwfl);
    }
};

Symbolizer::Symbolizer(size_t max_modules, size_t max_results)
    : max_modules_(max_modules ? max_modules : 1), max_results_(max_results ? max_results : 1)
{
}

Symbolizer::~Symbolizer() = default;

Symbolizer::Module& Symbolizer::module(const std::string& path)
{
    auto found = modules_.find(path);
    if (found != modules_.end()) {
        lru_.splice(lru_.begin(), lru_, found->second);
        return *lru_.front();
    }
    auto m = std::make_unique<Module>();
    m->path = path;
    int fd = open_regular(path);
    if (fd >= 0 && has_elf_magic(fd)) {
        m->dwfl = dwfl_begin(&callbacks);
        if (m->dwfl) {
            dwfl_report_begin(m->dwfl);
            // Base 0 with p_vaddr added: libdwfl's addresses are the file's link-time addresses,
            // for a PIE or library as for a fixed-address executable. On success the module owns fd.
            m->mod = dwfl_report_elf(m->dwfl, base_name(path).c_str(), path.c_str(), fd, 0, true);
            if (m->mod)
                fd = -1;
            dwfl_report_end(m->dwfl, nullptr, nullptr);
            if (m->mod && !dwfl_module_getelf(m->mod, &m->bias))
                m->mod = nullptr;
            if (!m->mod) {
                dwfl_end(m->dwfl);
                m->dwfl = nullptr;
            }
        }
    }
    if (fd >= 0)
        ::close(fd);

    if (lru_.size() >= max_modules_) {
        modules_.erase(lru_.back()->path);
        lru_.pop_back();
    }
    lru_.push_front(std::move(m));
    modules_[path] = lru_.begin();
    return *lru_.front();
}

namespace {

// The unit that covers `addr` (libdwfl's address), through the units' own ranges.
bool unit_of(Symbolizer::Module& m, uint64_t addr, Dwarf_Die& unit, uint64_t& bias)
{
    Dwarf_Addr dw_bias = 0;
    if (Dwarf_Die* die = dwfl_module_addrdie(m.mod, addr, &dw_bias)) {  // through .debug_aranges
        unit = *die;
        bias = dw_bias;
        return true;
    }
    if (!m.unit_ranges) {
        m.unit_ranges.emplace();
        Dwarf_Die* cu = nullptr;
        Dwarf_Addr cu_bias = 0;
        while ((cu = dwfl_module_nextcu(m.mod, cu, &cu_bias))) {
            // DW_AT_low_pc/high_pc or DW_AT_ranges, as [start, end) pairs.
            Dwarf_Addr base = 0, start = 0, end = 0;
            ptrdiff_t offset = 0;
            while ((offset = dwarf_ranges(cu, offset, &base, &start, &end)) > 0)
                if (end > start)
                    m.unit_ranges->push_back({start + cu_bias, end + cu_bias, *cu});
        }
        std::sort(m.unit_ranges->begin(), m.unit_ranges->end(),
                  [](const auto& a, const auto& b) { return a.low < b.low; });
    }
    const auto& ranges = *m.unit_ranges;
    auto after = std::upper_bound(ranges.begin(), ranges.end(), addr,
                                  [](Dwarf_Addr a, const auto& r) { return a < r.low; });
    // The nearest range starting at or below addr usually covers it; units whose ranges enclose
    // others' (rare) are found further back. A miss walks them all, once: results are cached.
    auto covering = std::make_reverse_iterator(after);
    while (covering != ranges.rend() && addr >= covering->high)
        ++covering;
    if (covering == ranges.rend())
        return false;
    unit = covering->unit;
    dwfl_module_getdwarf(m.mod, &dw_bias);
    bias = dw_bias;
    return true;
}

}  // namespace

void Symbolizer::line_from_units(Module& m, uint64_t addr, CodeLocation& loc)
{
    Dwarf_Die unit;
    uint64_t bias = 0;
    if (!unit_of(m, addr, unit, bias))
        return;
    Dwarf_Line* line = dwarf_getsrc_die(&unit, addr - bias);
    int lineno = 0;
    const char* file = line ? dwarf_linesrc(line, nullptr, nullptr) : nullptr;
    if (file && dwarf_lineno(line, &lineno) == 0 && lineno > 0) {
        loc.source_file = file;
        loc.line = lineno;
    }
}

void Symbolizer::inlined_at(Module& m, uint64_t addr, CodeLocation& loc)
{
    Dwarf_Die unit;
    uint64_t bias = 0;
    if (!unit_of(m, addr, unit, bias))
        return;
    std::unique_ptr<InlineScopes>& scopes = m.inline_scopes[dwarf_dieoffset(&unit)];
    if (!scopes)
        scopes = std::make_unique<InlineScopes>(unit);
    Dwarf_Files* files = nullptr;
    size_t nfiles = 0;
    dwarf_getsrcfiles(&unit, &files, &nfiles);
    for (Dwarf_Die& scope : scopes->at(addr - bias)) {
        CodeLocation::Inlined in;
        const char* name = dwarf_diename(&scope);  // through DW_AT_abstract_origin
        in.function = name ? demangle(name) : "?";
        Dwarf_Attribute attr;
        Dwarf_Word value = 0;
        if (dwarf_attr(&scope, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &value) == 0)
            in.call_line = static_cast<int>(value);
        if (files && dwarf_attr(&scope, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &value) == 0)
            if (const char* file = dwarf_filesrc(files, value, nullptr, nullptr))
                in.call_file = file;
        loc.inlined.push_back(std::move(in));
    }
}

CodeLocation Symbolizer::locate(const std::string& path, uint64_t elf_vaddr)
{
    ResultKey key{path, elf_vaddr};
    auto cached = results_.find(key);
    if (cached != results_.end())
        return cached->second;

    CodeLocation loc;
    loc.module = path;
    loc.module_offset = elf_vaddr;
    // "[vdso]", "[vsyscall]", "": the kernel's names, no file behind them.
    if (!path.empty() && path[0] != '[') {
        Module& m = module(path);
        if (m.mod) {
            Dwarf_Addr addr = elf_vaddr + m.bias;
            GElf_Off offset = 0;
            GElf_Sym sym;
            const char* name = dwfl_module_addrinfo(m.mod, addr, &offset, &sym, nullptr, nullptr, nullptr);
            // A fault's instruction pointer is in code: the nearest data symbol names nothing.
            int type = name ? GELF_ST_TYPE(sym.st_info) : STT_NOTYPE;
            bool code = type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_NOTYPE;
            if (name && *name && code) {
                loc.function = demangle(name);
                loc.function_offset = offset;
            }
            if (Dwfl_Line* line = dwfl_module_getsrc(m.mod, addr)) {
                int lineno = 0;
                const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
                if (file && lineno > 0) {
                    loc.source_file = file;
                    loc.line = lineno;
                }
            } else {
                line_from_units(m, addr, loc);
            }
            if (!loc.function.empty())
                inlined_at(m, addr, loc);
        }
    }

    if (results_.size() >= max_results_)
        results_.clear();
    results_.emplace(std::move(key), loc);
    return loc;
}

std::string format(const CodeLocation& location)
{
    if (location.function.empty())
        return fmt::format("{}+{:#x}", base_name(location.module), location.module_offset);
    std::string out;
    for (const CodeLocation::Inlined& in : location.inlined)
        out += in.function + " (inlined) ← ";
    out += location.function;
    if (location.function_offset)
        out += fmt::format("+{:#x}", location.function_offset);
    if (location.line > 0) {
        // The line in the innermost function, then each call that inlined one into the next.
        std::string lines = fmt::format("{}:{}", base_name(location.source_file), location.line);
        for (const CodeLocation::Inlined& in : location.inlined)
            if (in.call_line > 0)
                lines += in.call_file.empty() || base_name(in.call_file) == base_name(location.source_file)
                             ? fmt::format(" ← :{}", in.call_line)
                             : fmt::format(" ← {}:{}", base_name(in.call_file), in.call_line);
        out += " (" + lines + ")";
    } else {
        out += fmt::format(" [{}]", base_name(location.module));
    }
    return out;
}

std::vector<std::string> frame_names(const CodeLocation& location)
{
    std::vector<std::string> names;
    if (location.function.empty())
        return names;
    for (const CodeLocation::Inlined& in : location.inlined)
        names.push_back(in.function + " (inlined)");
    names.push_back(location.function);
    return names;
}

}  // namespace memtrace
