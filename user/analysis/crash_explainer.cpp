#include "analysis/crash_explainer.h"

#include <csignal>

#include <fmt/format.h>

#include "output/format_util.h"

namespace memtrace {
namespace {

// si_code values (asm-generic/siginfo.h): the kernel's reasons, and the "sent by" ones.
constexpr int kSiKernel = 0x80;
constexpr int kSegvMaperr = 1, kSegvAccerr = 2, kSegvBnderr = 3, kSegvPkuerr = 4;
constexpr int kBusAdraln = 1, kBusAdrerr = 2, kBusObjerr = 3, kBusMceerrAr = 4, kBusMceerrAo = 5;

// Below vm.mmap_min_addr (64 KiB on Debian) nothing can be mapped: a pointer there is NULL plus
// an offset.
constexpr uint64_t kNullRegion = 64 << 10;
// How far below the main stack an access still reads as the stack running out: the kernel keeps
// stack_guard_gap (256 pages) free below it, and a frame can skip a few pages.
constexpr uint64_t kStackSlack = 2 << 20;
// A thread that overflows usually lands in the guard page; a big frame can jump a little further.
constexpr uint64_t kThreadGuardSlack = 64 << 10;

std::string perms(const Region& r)
{
    return fmt::format("{}{}{}", r.read ? 'r' : '-', r.write ? 'w' : '-', r.exec ? 'x' : '-');
}

const char* access_of(uint64_t error_code)
{
    if (error_code & MT_FAULT_INSTR)
        return "executing";
    return error_code & MT_FAULT_WRITE ? "writing" : "reading";
}

std::string label_at(const Region& r, uint64_t addr, const SegmentTable& segments)
{
    return segments.at(r.segment_at(addr)).label;
}

double seconds(uint64_t ts_ns, uint64_t origin_ns) { return ts_ns > origin_ns ? (ts_ns - origin_ns) / 1e9 : 0.0; }

}  // namespace

const char* crash_kind_name(CrashKind kind)
{
    switch (kind) {
    case CrashKind::SentByProcess: return "sent-by-process";
    case CrashKind::NullPage: return "null-page";
    case CrashKind::StackOverflow: return "stack-overflow";
    case CrashKind::ThreadStackOverflow: return "thread-stack-overflow";
    case CrashKind::WriteReadOnly: return "write-read-only";
    case CrashKind::ExecNonExec: return "exec-non-exec";
    case CrashKind::ProtectionOther: return "protection";
    case CrashKind::UseAfterUnmap: return "use-after-unmap";
    case CrashKind::NeverMapped: return "never-mapped";
    case CrashKind::BusError: return "bus-error";
    }
    return "unknown";
}

std::string signal_name(int signo)
{
    switch (signo) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    default: return fmt::format("signal {}", signo);
    }
}

std::string signal_code_name(int signo, int code)
{
    if (code == kSiKernel)
        return "SI_KERNEL";
    if (code <= 0)
        return code == 0 ? "SI_USER" : code == -6 ? "SI_TKILL" : fmt::format("si_code {}", code);
    if (signo == SIGSEGV) {
        switch (code) {
        case kSegvMaperr: return "SEGV_MAPERR";
        case kSegvAccerr: return "SEGV_ACCERR";
        case kSegvBnderr: return "SEGV_BNDERR";
        case kSegvPkuerr: return "SEGV_PKUERR";
        }
    } else if (signo == SIGBUS) {
        switch (code) {
        case kBusAdraln: return "BUS_ADRALN";
        case kBusAdrerr: return "BUS_ADRERR";
        case kBusObjerr: return "BUS_OBJERR";
        case kBusMceerrAr:
        case kBusMceerrAo: return "BUS_MCEERR";
        }
    }
    return fmt::format("si_code {}", code);
}

CrashExplanation explain_crash(const mt_signal& s, const AddressSpace& space, const SegmentTable& segments,
                               const UnmapHistory& history, uint64_t origin_ns)
{
    const uint64_t addr = s.addr;
    const char* access = access_of(s.error_code);
    if (s.code <= 0)
        return {CrashKind::SentByProcess,
                fmt::format("{} was sent by process {} ({}), not raised by a memory access", signal_name(s.signo),
                            s.sender_tgid, signal_code_name(s.signo, s.code))};
    if (s.code == kSiKernel)
        return {CrashKind::ProtectionOther,
                fmt::format("raised by the kernel without an address: a general protection fault (a "
                            "non-canonical pointer such as 0xdead..., a privileged instruction), or a signal "
                            "frame that could not be written (a stack overflow with a handler but no "
                            "sigaltstack)")};

    const Region* r = space.region_of(addr);
    if (s.signo == SIGBUS) {
        if (r && (r->kind == RegionKind::File || r->kind == RegionKind::Shm) && s.code == kBusAdrerr)
            return {CrashKind::BusError,
                    fmt::format("{} 0x{:x} in {}, a page past the end of the file {} (the file is shorter than its "
                                "mapping: truncated after mmap?)",
                                access, addr, label_at(*r, addr, segments), r->path)};
        return {CrashKind::BusError,
                fmt::format("bus error ({}) {} 0x{:x}{}", signal_code_name(s.signo, s.code), access, addr,
                            r ? " in " + label_at(*r, addr, segments) : std::string())};
    }

    if (r) {
        std::string label = label_at(*r, addr, segments);
        if ((s.error_code & MT_FAULT_INSTR) && !r->exec)
            return {CrashKind::ExecNonExec,
                    fmt::format("executing 0x{:x} in {}, which is not executable ({}): a jump through a corrupted "
                                "function pointer or return address, or code placed in data",
                                addr, label, perms(*r))};
        if ((s.error_code & MT_FAULT_WRITE) && !r->write && r->read) {
            const SegmentInfo& info = segments.at(r->segment_at(addr));
            const char* why = info.section == ".text"     ? ": the program's code is mapped read-only"
                              : info.section == ".rodata" ? ": string literals and const data live there"
                              : r->kind == RegionKind::File ? ": a file mapped without PROT_WRITE"
                                                            : "";
            return {CrashKind::WriteReadOnly,
                    fmt::format("writing 0x{:x} in {}, which is read-only ({}){}", addr, label, perms(*r), why)};
        }
        if (!r->read && !r->write && !r->exec) {
            const Region* above = space.region_above(addr);
            // The guard is the PROT_NONE page right below the stack, not any such region further down.
            const Region* stack = above && above->thread_stack && above->start == r->end ? above
                                  : r->thread_stack                                   ? r
                                                                                      : nullptr;
            if (stack)
                return {CrashKind::ThreadStackOverflow,
                        fmt::format("thread stack overflow: {} 0x{:x}, in the guard page below {} ({} stack, "
                                    "sp 0x{:x})",
                                    access, addr, label_at(*stack, stack->end - 1, segments),
                                    human_bytes(stack->end - stack->start), s.sp)};
            return {CrashKind::ProtectionOther,
                    fmt::format("{} 0x{:x} in {}, mapped with no access (PROT_NONE)", access, addr, label)};
        }
        return {CrashKind::ProtectionOther,
                fmt::format("{} 0x{:x} in {} ({}) violates its protection", access, addr, label, perms(*r))};
    }

    if (addr < kNullRegion)
        return {CrashKind::NullPage,
                fmt::format("{} 0x{:x}, in the never-mapped first 64 KiB: a NULL pointer dereference (offset {} "
                            "from NULL)",
                            access, addr, addr)};

    const Region* above = space.region_above(addr);
    // Written as a difference: an unlimited stack (~0) must not wrap the sum.
    const uint64_t depth = space.stack_top() > addr ? space.stack_top() - addr : 0;
    if (above && above->kind == RegionKind::Stack && depth &&
        (depth <= s.stack_limit || depth - s.stack_limit <= kStackSlack)) {
        uint64_t top = space.stack_top();
        return {CrashKind::StackOverflow,
                fmt::format("stack overflow: {} 0x{:x}, {} below the top of the main stack (limit {}, ulimit -s); "
                            "sp 0x{:x} is {} deep: runaway recursion or a huge local array",
                            access, addr, human_bytes(top - addr),
                            s.stack_limit == ~0ULL ? std::string("unlimited") : human_bytes(s.stack_limit), s.sp,
                            top > s.sp ? human_bytes(top - s.sp) : std::string("?"))};
    }
    if (above && above->thread_stack && above->start - addr <= kThreadGuardSlack)
        return {CrashKind::ThreadStackOverflow,
                fmt::format("thread stack overflow: {} 0x{:x}, just below {} ({} stack)", access, addr,
                            label_at(*above, above->start, segments), human_bytes(above->end - above->start))};

    if (const UnmappedRange* gone = history.find(addr))
        return {CrashKind::UseAfterUnmap,
                fmt::format("{} 0x{:x}, in {} [0x{:x}-0x{:x}) that was unmapped at {:.3f}s: a pointer used after "
                            "munmap (or after free() of a large, mmap-backed block)",
                            access, addr, gone->what, gone->start, gone->end, seconds(gone->ts_ns, origin_ns))};

    const Region* below = space.region_below(addr);
    std::string nearest;
    if (below)
        nearest += fmt::format("; {} ends {} below", label_at(*below, below->end - 1, segments),
                               human_bytes(addr - below->end + 1));
    if (above)
        nearest += fmt::format("; {} starts {} above", label_at(*above, above->start, segments),
                               human_bytes(above->start - addr));
    return {CrashKind::NeverMapped,
            fmt::format("{} 0x{:x}, where nothing is mapped and nothing was during the trace{}", access, addr,
                        nearest)};
}

}  // namespace memtrace
