#include "dwarf_unwinder.h"

#include <array>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

#include <elfutils/libdwfl.h>
#include <gelf.h>

namespace memtrace {
namespace {

// libdwfl unwinds threads of an attached process; the sample's thread is the only one there is.
constexpr pid_t kThreadId = 1;
constexpr unsigned kDwarfSp = 7;  // rsp in the x86_64 psABI's DWARF register numbering
constexpr size_t kDwarfRegisters = 17;

// The sample's registers in DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip.
std::array<Dwarf_Word, kDwarfRegisters> dwarf_registers(const UserRegisters& r)
{
    return {r.ax, r.dx, r.cx, r.bx, r.si, r.di, r.bp, r.sp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.ip};
}

// memtrace runs as root and opens whatever the target mapped: regular files only, and never
// block on a FIFO or a device. -1 when `path` is not one.
int open_regular(const std::string& path)
{
    if (path.empty() || path[0] != '/')  // "[vdso]", anonymous code
        return -1;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st {};
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        ::close(fd);
        fd = -1;
    }
    return fd;
}

// libdwfl also opens compressed files and images with a header in front of the ELF; mapped code
// is a plain ELF file.
bool has_elf_magic(int fd)
{
    unsigned char magic[SELFMAG];
    return ::pread(fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic && std::memcmp(magic, ELFMAG, SELFMAG) == 0;
}

struct LoadSegment {
    uint64_t vaddr, offset, filesz;
    bool executable;
};

struct ElfLayout {
    uint16_t type = ET_NONE;
    std::vector<LoadSegment> loads;
};

ElfLayout read_layout(int fd)
{
    ElfLayout layout;
    Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
    GElf_Ehdr ehdr;
    size_t count = 0;
    if (elf && gelf_getehdr(elf, &ehdr) && elf_getphdrnum(elf, &count) == 0) {
        layout.type = ehdr.e_type;
        for (size_t i = 0; i < count; ++i) {
            GElf_Phdr phdr;
            if (gelf_getphdr(elf, (int)i, &phdr) && phdr.p_type == PT_LOAD)
                layout.loads.push_back({phdr.p_vaddr, phdr.p_offset, phdr.p_filesz, (phdr.p_flags & PF_X) != 0});
        }
    }
    elf_end(elf);
    return layout;
}

// What the loader added to the file's link-time addresses, found from where `address` lies in
// the file: the PT_LOAD holding that file offset gives its link-time address. Executable
// segments first: in files without separate code pages, one file page can hold the end of the
// text and the start of the data, which are loaded at different addresses.
std::optional<uint64_t> load_bias(const std::vector<LoadSegment>& loads, const CodeMapping& mapping, uint64_t address)
{
    uint64_t file_offset = mapping.offset + (address - mapping.start);
    for (bool executable : {true, false})
        for (const LoadSegment& load : loads)
            if (load.executable == executable && file_offset >= load.offset &&
                file_offset - load.offset < load.filesz)
                return address - (load.vaddr + (file_offset - load.offset));
    return std::nullopt;
}

// Every module is reported with its descriptor, so libdwfl never looks for a file by itself.
int find_no_elf(Dwfl_Module*, void**, const char*, Dwarf_Addr, char**, Elf**)
{
    return -1;
}

// .debug_frame is read when .eh_frame has no entry for an address; a stripped file's comes from
// a separate debug file found by build ID under /usr/lib/debug (root's own directory), never next
// to the file (the traced user's) and never from debuginfod, which dwfl_standard_find_debuginfo
// would ask.
int find_debuginfo_by_build_id(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                               const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                               char** debuginfo_file_name)
{
    return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
                                        debuginfo_file_name);
}

char debug_directory[] = "/usr/lib/debug";
char* debuginfo_path = debug_directory;

const Dwfl_Callbacks module_callbacks = {
    find_no_elf,
    find_debuginfo_by_build_id,
    dwfl_offline_section_address,
    &debuginfo_path,
};

}  // namespace

struct DwarfUnwinder::Session {
    MappingLookup lookup;
    size_t max_modules;
    Dwfl* dwfl = nullptr;

    // An ELF header and nothing else, saying x86_64: dwfl_attach_state picks the architecture's
    // unwinder (and its frame-pointer fallback) from it, with or without any module reported.
    Elf64_Ehdr arch_header{};
    Elf* arch_elf = nullptr;

    struct Module {
        std::string path;
        uint64_t bias;
        Dwarf_Addr low, high;  // what libdwfl covers with it
        std::vector<LoadSegment> loads;
    };
    std::unordered_map<Dwfl_Module*, Module> modules;
    std::unordered_set<std::string> unusable_paths;  // not a regular ELF file

    // The unwind under way.
    const StackSample* sample = nullptr;
    UnwoundStack* result = nullptr;
    size_t max_frames = 0;
    uint64_t last_sp = 0;
    bool last_read_failed = false, last_read_above_copy = false;
    std::optional<UnwindEnd> stopped;  // why the frame callback ended the walk

    struct Callbacks;

    Session(MappingLookup lookup_, size_t max_modules_) : lookup(std::move(lookup_)), max_modules(max_modules_)
    {
        elf_version(EV_CURRENT);
        std::memcpy(arch_header.e_ident, ELFMAG, SELFMAG);
        arch_header.e_ident[EI_CLASS] = ELFCLASS64;
        arch_header.e_ident[EI_DATA] = ELFDATA2LSB;
        arch_header.e_ident[EI_VERSION] = EV_CURRENT;
        arch_header.e_type = ET_CORE;
        arch_header.e_machine = EM_X86_64;
        arch_header.e_version = EV_CURRENT;
        arch_header.e_ehsize = sizeof arch_header;
        arch_elf = elf_memory(reinterpret_cast<char*>(&arch_header), sizeof arch_header);
    }

    ~Session()
    {
        forget_modules();
        elf_end(arch_elf);
    }

    bool attach();
    void forget_modules()
    {
        if (dwfl)
            dwfl_end(dwfl);
        dwfl = nullptr;
        modules.clear();
        unusable_paths.clear();
    }

    void begin_walk(const StackSample& sample_, size_t max_frames_, UnwoundStack& result_)
    {
        sample = &sample_;
        result = &result_;
        max_frames = max_frames_;
        last_sp = sample_.regs.sp;
        last_read_failed = last_read_above_copy = false;
        stopped.reset();
    }
    UnwindEnd walk_end(int walked) const
    {
        if (stopped)
            return *stopped;
        if (last_read_failed)  // libdwfl takes an unreadable return address for the end of the stack
            return last_read_above_copy ? UnwindEnd::stack_copy : UnwindEnd::lost;
        return walked == 0 ? UnwindEnd::outermost : UnwindEnd::lost;
    }
    int accept_frame(Dwfl_Frame* state);
    int stop(UnwindEnd why)
    {
        stopped = why;
        return DWARF_CB_ABORT;
    }
    bool read_stack(Dwarf_Addr address, Dwarf_Word* value);
    void ensure_module(const CodeMapping& mapping, uint64_t address);
    Dwfl_Module* report_module(const CodeMapping& mapping, uint64_t address);
    void drop_modules_overlapping(Dwarf_Addr low, Dwarf_Addr high, Dwfl_Module* keep);
};

// libdwfl's callbacks: C functions handed the session as their argument.
struct DwarfUnwinder::Session::Callbacks {
    static Session& of(void* arg) { return *static_cast<Session*>(arg); }

    static pid_t next_thread(Dwfl*, void* session, void** thread_arg)
    {
        if (*thread_arg)
            return 0;
        *thread_arg = session;
        return kThreadId;
    }

    static bool get_thread(Dwfl*, pid_t tid, void* session, void** thread_arg)
    {
        *thread_arg = session;
        return tid == kThreadId;
    }

    static bool memory_read(Dwfl*, Dwarf_Addr address, Dwarf_Word* value, void* session)
    {
        return of(session).read_stack(address, value);
    }

    static bool set_initial_registers(Dwfl_Thread* thread, void* session)
    {
        auto registers = dwarf_registers(of(session).sample->regs);
        return dwfl_thread_state_registers(thread, 0, kDwarfRegisters, registers.data());
    }

    // No exception may cross libdwfl.
    static int on_frame(Dwfl_Frame* state, void* session)
    {
        try {
            return of(session).accept_frame(state);
        } catch (...) {
            return of(session).stop(UnwindEnd::lost);
        }
    }

    static constexpr Dwfl_Thread_Callbacks thread = {
        next_thread, get_thread, memory_read, set_initial_registers, nullptr, nullptr,
    };
};

bool DwarfUnwinder::Session::attach()
{
    dwfl = dwfl_begin(&module_callbacks);
    if (dwfl && arch_elf && dwfl_attach_state(dwfl, arch_elf, kThreadId, &Callbacks::thread, this))
        return true;
    forget_modules();
    return false;
}

// Only the copied stack is memory here: a read anywhere else fails, and a read above the copy
// means the stack went on beyond it.
bool DwarfUnwinder::Session::read_stack(Dwarf_Addr address, Dwarf_Word* value)
{
    const std::vector<uint8_t>& bytes = sample->bytes;
    uint64_t start = sample->stack_start;
    bool in_copy = address >= start && address - start <= bytes.size() && bytes.size() - (address - start) >= sizeof *value;
    last_read_failed = !in_copy;
    last_read_above_copy = !in_copy && address >= start;
    if (in_copy)
        std::memcpy(value, bytes.data() + (address - start), sizeof *value);
    return in_copy;
}

// Called for each frame before libdwfl unwinds it, which needs the module of its code: reported
// here, the first time one of its addresses comes up.
int DwarfUnwinder::Session::accept_frame(Dwfl_Frame* state)
{
    Dwarf_Addr pc = 0;
    if (!dwfl_frame_pc(state, &pc, nullptr))
        return stop(UnwindEnd::lost);
    bool leaf = result->frames.empty();
    if (result->frames.size() == max_frames)
        return stop(UnwindEnd::max_frames);

    // A return address follows the call: the call, and so its module, is at pc - 1.
    uint64_t code_address = leaf ? pc : pc - 1;
    std::optional<CodeMapping> mapping = lookup(code_address);
    if (!mapping && !leaf)
        return stop(UnwindEnd::lost);  // junk from the stack, not a return address
    if (mapping)
        ensure_module(*mapping, code_address);

    // Asking whether this frame was interrupted by a signal unwinds it: only now that its module is in.
    bool activation = false;
    dwfl_frame_pc(state, &pc, &activation);
    Dwarf_Word sp = 0;
    if (!leaf && dwfl_frame_reg(state, kDwarfSp, &sp) == 0) {
        // Each caller's frame lies above its callee's; a signal handler may run on another stack.
        if (sp <= last_sp && !activation)
            return stop(UnwindEnd::lost);
        last_sp = sp;
    }
    result->frames.push_back(pc);
    return DWARF_CB_OK;
}

void DwarfUnwinder::Session::ensure_module(const CodeMapping& mapping, uint64_t address)
{
    Dwfl_Module* known = dwfl_addrmodule(dwfl, address);
    if (known) {
        auto found = modules.find(known);
        if (found != modules.end() && found->second.path == mapping.path &&
            load_bias(found->second.loads, mapping, address) == found->second.bias)
            return;
    }
    // Nothing is known here, or another file was: that one was unmapped, and so was whatever
    // else the new module covers.
    Dwfl_Module* reported = report_module(mapping, address);
    Dwarf_Addr low = address, high = address + 1;
    if (reported)
        dwfl_module_info(reported, nullptr, &low, &high, nullptr, nullptr, nullptr, nullptr);
    drop_modules_overlapping(low, high, reported);
}

Dwfl_Module* DwarfUnwinder::Session::report_module(const CodeMapping& mapping, uint64_t address)
{
    if (unusable_paths.count(mapping.path))
        return nullptr;
    int fd = open_regular(mapping.path);
    if (fd < 0 || !has_elf_magic(fd)) {
        if (fd >= 0)
            ::close(fd);
        if (unusable_paths.size() < max_modules)
            unusable_paths.insert(mapping.path);
        return nullptr;
    }
    ElfLayout layout = read_layout(fd);
    std::optional<uint64_t> bias = load_bias(layout.loads, mapping, address);
    // A fixed-address executable is never moved: a bias means the file is not what was mapped.
    bool loadable = layout.type == ET_DYN || (layout.type == ET_EXEC && bias == uint64_t{0});
    if (!bias || !loadable) {
        ::close(fd);
        return nullptr;
    }
    dwfl_report_begin_add(dwfl);
    // Base = bias, p_vaddr added: libdwfl's addresses are the process's.
    Dwfl_Module* module = dwfl_report_elf(dwfl, mapping.path.c_str(), mapping.path.c_str(), fd, *bias, true);
    dwfl_report_end(dwfl, nullptr, nullptr);
    if (!module) {
        ::close(fd);  // the module owns it only on success
        return nullptr;
    }
    Dwarf_Addr low = 0, high = 0;
    dwfl_module_info(module, nullptr, &low, &high, nullptr, nullptr, nullptr, nullptr);
    modules[module] = Module{mapping.path, *bias, low, high, std::move(layout.loads)};
    return module;
}

// libdwfl removes modules only through a new report that leaves them out.
void DwarfUnwinder::Session::drop_modules_overlapping(Dwarf_Addr low, Dwarf_Addr high, Dwfl_Module* keep)
{
    std::vector<Dwfl_Module*> doomed;
    for (const auto& [module, info] : modules)
        if (module != keep && info.low < high && low < info.high)
            doomed.push_back(module);
    if (doomed.empty())
        return;
    for (Dwfl_Module* module : doomed)
        modules.erase(module);
    dwfl_report_begin(dwfl);
    for (const auto& [module, info] : modules)
        dwfl_report_module(dwfl, info.path.c_str(), info.low, info.high);  // the same module, kept
    dwfl_report_end(dwfl, nullptr, nullptr);
}

DwarfUnwinder::DwarfUnwinder(MappingLookup lookup, size_t max_modules)
    : session_(std::make_unique<Session>(std::move(lookup), max_modules ? max_modules : 1))
{
}

DwarfUnwinder::~DwarfUnwinder() = default;
DwarfUnwinder::DwarfUnwinder(DwarfUnwinder&&) noexcept = default;
DwarfUnwinder& DwarfUnwinder::operator=(DwarfUnwinder&&) noexcept = default;

void DwarfUnwinder::forget_modules()
{
    session_->forget_modules();
}

size_t DwarfUnwinder::module_count() const
{
    return session_->modules.size();
}

UnwoundStack DwarfUnwinder::unwind(const StackSample& sample, size_t max_frames)
{
    UnwoundStack result;
    Session& s = *session_;
    if (s.modules.size() > s.max_modules)
        s.forget_modules();
    if (!s.dwfl && !s.attach()) {
        result.frames.push_back(sample.regs.ip);
        result.end = UnwindEnd::lost;
        return result;
    }
    s.begin_walk(sample, max_frames, result);
    int walked = dwfl_getthread_frames(s.dwfl, kThreadId, Session::Callbacks::on_frame, &s);
    result.end = s.walk_end(walked);
    if (result.frames.empty() && max_frames > 0)
        result.frames.push_back(sample.regs.ip);
    result.truncated = result.end == UnwindEnd::stack_copy || result.end == UnwindEnd::max_frames;
    s.sample = nullptr;
    s.result = nullptr;
    return result;
}

}  // namespace memtrace
