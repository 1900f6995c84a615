// The stack files a run or a report writes at its end: --folded (fault stacks), --folded-bytes
// (brk, mmap and mremap stacks by bytes grown), --flamegraph (an SVG of both kinds, one graph for
// faults, one for brk bytes, one for mmap bytes). Every file is opened when the object is made,
// before anything is traced: a path memtrace cannot write fails up front.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace memtrace {

class StackCounts;

struct StackFileOptions {
    std::string folded, folded_bytes, flamegraph;

    bool any() const { return !folded.empty() || !folded_bytes.empty() || !flamegraph.empty(); }
};

// "brk;comm;root;...;leaf" -> bytes: every call that grew memory, under the call it was.
std::unordered_map<std::string, uint64_t> folded_bytes(const StackCounts& stacks);

class StackFiles {
public:
    explicit StackFiles(const StackFileOptions& options);
    ~StackFiles();
    StackFiles(const StackFiles&) = delete;
    StackFiles& operator=(const StackFiles&) = delete;

    // Writes each file asked for and says so on stderr; `title` names the traced program.
    // Throws std::runtime_error on a write error.
    void write(const StackCounts& stacks, const std::string& title, uint32_t sample_period);

private:
    void close_all();

    StackFileOptions options_;
    int folded_fd_ = -1, bytes_fd_ = -1, flame_fd_ = -1;
};

}  // namespace memtrace
