// User stacks from a sample of registers and copied stack bytes: each frame's caller found with the
// binaries' CFI (.eh_frame, then .debug_frame) by elfutils' libdwfl, frame pointers where a frame
// has no CFI. Pure: the code mappings come from the caller's mapping model, the stack from the
// sample; only the ELF files named by the mappings are opened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

// x86_64 user registers, as in pt_regs.
struct UserRegisters {
    uint64_t ip, sp, bp, bx, r12, r13, r14, r15, ax, cx, dx, si, di, r8, r9, r10, r11;
};

struct StackSample {
    UserRegisters regs{};
    uint64_t stack_start = 0;    // user address of bytes[0] (regs.sp, or sp rounded down as copied)
    std::vector<uint8_t> bytes;  // copied user stack; may be shorter than asked (end of the stack mapping)
};

// The file mapping that holds an address of code: its path, [start, end) and the file offset of start.
struct CodeMapping {
    std::string path;
    uint64_t start = 0, end = 0, offset = 0;
};
// nullopt for an address that is not in an executable mapping. A mapping with an empty path or
// one that cannot be opened (anonymous JIT code, "[vdso]") is still code: it is unwound with frame
// pointers only.
using MappingLookup = std::function<std::optional<CodeMapping>(uint64_t address)>;

enum class UnwindEnd : uint8_t {
    outermost,   // the CFI marks the outermost frame (_start, a thread's start): the whole stack
    stack_copy,  // the next frame needs stack bytes above the copy
    max_frames,  // more frames follow
    lost,        // no CFI and no usable frame pointer, or the next return address is not in code,
                 // or the stack pointer went down: the frames found are sound, the rest unknown
};

struct UnwoundStack {
    // Instruction pointers, leaf first. frames[0] is regs.ip; the others are return addresses
    // (symbolize them at address - 1), except the frame a signal interrupted: its exact ip.
    std::vector<uint64_t> frames;
    bool truncated = false;  // end is stack_copy or max_frames
    UnwindEnd end = UnwindEnd::outermost;
};

// One per traced address space; keeps each module it reported (an open file descriptor and the
// parsed CFI), so it is cheap to keep. Not thread-safe.
class DwarfUnwinder {
public:
    // `max_modules`: when more modules than this were reported, all are forgotten (each one holds
    // its file open).
    explicit DwarfUnwinder(MappingLookup lookup, size_t max_modules = 256);
    ~DwarfUnwinder();
    DwarfUnwinder(DwarfUnwinder&&) noexcept;
    DwarfUnwinder& operator=(DwarfUnwinder&&) noexcept;

    UnwoundStack unwind(const StackSample& sample, size_t max_frames = 127);

    // A module was unmapped, or the process exec'd. (A module replaced at its addresses by
    // another file is noticed without this.)
    void forget_modules();
    size_t module_count() const;

private:
    struct Session;
    std::unique_ptr<Session> session_;
};

}  // namespace memtrace
