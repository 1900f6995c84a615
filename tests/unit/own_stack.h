// This test process's own registers and stack inside a known call chain (the unwind fixtures,
// tests/fixtures/unwind_fixture.h), as memtrace's BPF side would copy them at a fault.
#pragma once

#include <cstdint>
#include <vector>

#include "model/maps_parser.h"
#include "unwind_fixture.h"

namespace memtrace_test {

constexpr size_t kBpfStackCopy = 8 << 10;  // what memtrace's BPF side copies at most

struct OwnStack {
    unwind_capture regs{};        // ip, sp, bp and the callee-saved registers
    std::vector<uint8_t> bytes;   // from sp up
};

// The end of the mapping holding this thread's stack.
inline uint64_t own_stack_end()
{
    int here = 0;
    const auto at = reinterpret_cast<uintptr_t>(&here);
    for (const memtrace::MapsEntry& entry : memtrace::read_proc_maps(getpid()))
        if (at >= entry.start && at < entry.end)
            return entry.end;
    return 0;
}

// Runs `chain` (a fixture) and returns what it captured, at most `copy` bytes of stack.
template <typename Chain>
OwnStack capture_own_stack(Chain chain, size_t copy = kBpfStackCopy)
{
    static const uint64_t stack_end = own_stack_end();
    OwnStack own;
    own.bytes.resize(copy);
    own.regs.stack = own.bytes.data();
    own.regs.stack_capacity = own.bytes.size();
    own.regs.stack_end = stack_end;
    chain(&own.regs);
    own.bytes.resize(own.regs.stack_size);
    own.regs.stack = nullptr;
    return own;
}

}  // namespace memtrace_test
