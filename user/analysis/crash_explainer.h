// Explains a SIGSEGV or SIGBUS in the words of the memory layout: NULL page, stack overflow, write
// to a read-only segment, execution of data, use after munmap, or an address never mapped.
#pragma once

#include <cstdint>
#include <vector>
#include <string>

#include <linux/types.h>

#include "model/address_space.h"
#include "model/unmap_history.h"
#include "model/segments.h"
#include "memtrace/events.h"

namespace memtrace {

enum class CrashKind {
    SentByProcess,    // kill()/tgkill() with SIGSEGV: not a memory access at all
    NullPage,         // an address in the never-mapped first pages
    StackOverflow,    // the main stack ran into its limit or guard gap
    ThreadStackOverflow,  // a thread ran into the guard page below its stack
    WriteReadOnly,    // a write to .text, .rodata, a read-only mapping
    ExecNonExec,      // an instruction fetch from the heap, the stack, data
    ProtectionOther,  // another protection violation (PROT_NONE, reading exec-only)
    UseAfterUnmap,    // an address unmapped earlier in this trace
    NeverMapped,      // an address in no mapping, never mapped in this trace
    BusError,         // SIGBUS: beyond the end of a mapped file, or a hardware error
};

const char* crash_kind_name(CrashKind kind);  // "stack-overflow", ...

struct CrashExplanation {
    CrashKind kind = CrashKind::NeverMapped;
    std::string summary;  // one sentence in the words of the layout
};

// `signal` is the kernel's record, `space` the process's model at that moment, `history` its
// unmaps; `now_ns` and `origin_ns` turn timestamps into seconds since the trace started.
CrashExplanation explain_crash(const mt_signal& signal, const AddressSpace& space, const SegmentTable& segments,
                               const UnmapHistory& history, uint64_t origin_ns);

// "SIGSEGV", "SIGBUS", "signal 5"
std::string signal_name(int signo);
// "SEGV_MAPERR", "BUS_ADRERR", ..., or the number
std::string signal_code_name(int signo, int code);

}  // namespace memtrace
