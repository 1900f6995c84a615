#include "output/stack_files.h"

#include <cstdio>
#include <unistd.h>

#include <fmt/format.h>

#include "analysis/stack_counts.h"
#include "output/flamegraph_svg.h"
#include "output/folded.h"
#include "output/format_util.h"
#include "output/output_file.h"

namespace memtrace {
namespace {

int open_if(const std::string& path) { return path.empty() ? -1 : open_output_file(path); }

std::string sampling_note(uint32_t period)
{
    if (period <= 1)
        return "every fault's stack";
    return fmt::format("estimates: 1 fault in {} on each CPU has its stack, counts scaled by {}", period, period);
}

}  // namespace

std::unordered_map<std::string, uint64_t> folded_bytes(const StackCounts& stacks)
{
    std::unordered_map<std::string, uint64_t> out;
    for (auto [kind, name] : {std::pair{MT_STACK_BRK, "brk"}, {MT_STACK_MMAP, "mmap"}, {MT_STACK_MREMAP, "mremap"}})
        for (const auto& [line, bytes] : stacks.folded(kind))
            out[std::string(name) + ';' + line] += bytes;
    return out;
}

StackFiles::StackFiles(const StackFileOptions& options) : options_(options)
{
    try {
        folded_fd_ = open_if(options.folded);
        bytes_fd_ = open_if(options.folded_bytes);
        flame_fd_ = open_if(options.flamegraph);
    } catch (...) {
        close_all();  // the destructor does not run when the constructor throws
        throw;
    }
}

StackFiles::~StackFiles() { close_all(); }

void StackFiles::close_all()
{
    for (int* fd : {&folded_fd_, &bytes_fd_, &flame_fd_})
        if (*fd >= 0) {
            close(*fd);
            *fd = -1;
        }
}

void StackFiles::write(const StackCounts& stacks, const std::string& title, uint32_t period)
{
    if (folded_fd_ >= 0) {
        uint64_t lines = write_folded(folded_fd_, stacks.folded(MT_STACK_FAULT));
        fmt::print(stderr, "memtrace: wrote {} fault stacks to {}\n", lines, terminal_safe(options_.folded));
    }
    if (bytes_fd_ >= 0) {
        uint64_t lines = write_folded(bytes_fd_, folded_bytes(stacks));
        fmt::print(stderr, "memtrace: wrote {} brk/mmap stacks to {}\n", lines, terminal_safe(options_.folded_bytes));
    }
    if (flame_fd_ < 0)
        return;
    FlameGraphOptions faults;
    faults.title = "Page faults: " + title;
    faults.subtitle = sampling_note(period);
    faults.count_unit = period > 1 ? "faults (estimated)" : "faults";
    FlameGraphOptions brk;
    brk.title = "Heap grown by brk: " + title;
    brk.subtitle = "every brk call's stack, by bytes the heap grew";
    brk.count_unit = "bytes";
    brk.colours = FlameColours::Memory;
    FlameGraphOptions mmap = brk;
    mmap.title = "Memory mapped by mmap: " + title;
    mmap.subtitle = "every mmap call's stack, by bytes mapped";
    mmap.colours = FlameColours::Blue;
    write_flamegraph_svg(flame_fd_, {FlamePanel{&stacks.folded(MT_STACK_FAULT), faults},
                                     FlamePanel{&stacks.folded(MT_STACK_BRK), brk},
                                     FlamePanel{&stacks.folded(MT_STACK_MMAP), mmap}});
    fmt::print(stderr, "memtrace: wrote the flame graphs to {}\n", terminal_safe(options_.flamegraph));
}

}  // namespace memtrace
