#include "known_kinds.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace {

// Pages a phase-less step of the workload touches: the file phase's data is written from a
// static buffer (FILE_PAGES of .bss) before the file is mapped.
constexpr const char* kStaticBufferPhase = "file";

// What the workload does after its release besides its phases, measured here: libc's first touch
// of its stdio buffer (heap), of its own .data and .bss, the thread's TLS and guard (thread
// stack), the temporary file's write (file): 0 to 4 faults per kind.
constexpr uint64_t kOutsidePhasesSlack = 6;

std::string kind_of_phase(const std::string& phase)
{
    static const std::map<std::string, std::string> kinds = {
        {"bss", "bss"},     {"data", "data"},   {"rodata", "rodata"},           {"heap", "heap"},
        {"stack", "stack"}, {"anon", "anon"},   {"thread_stack", "thread_stack"}, {"file", "file"},
        {"shm", "shm"},     {"memfd", "shm"},   {"sysv", "shm"},                {"short_lived", "anon"},
        {"kernel_mode", "anon"}};
    auto it = kinds.find(phase);
    return it == kinds.end() ? "" : it->second;
}

}  // namespace

std::map<std::string, uint64_t> known_kind_faults(const WorkloadReport& w)
{
    std::map<std::string, uint64_t> known;
    for (const Phase& p : w.phases) {
        const std::string kind = kind_of_phase(p.name);
        if (kind.empty()) {
            ADD_FAILURE() << "a phase of the segment workload this test does not know: " << p.name;
            continue;
        }
        known[kind] += static_cast<uint64_t>(p.kernel_faults);
        if (p.name == kStaticBufferPhase)
            known["bss"] += p.pages;
    }
    return known;
}

void expect_kinds_match(const std::map<std::string, uint64_t>& counted, const WorkloadReport& w)
{
    for (const auto& [kind, faults] : known_kind_faults(w)) {
        auto it = counted.find(kind);
        const uint64_t got = it == counted.end() ? 0 : it->second;
        EXPECT_GE(got, faults) << kind << ": fewer faults than the workload took";
        EXPECT_LE(got, faults + kOutsidePhasesSlack) << kind << ": faults counted that the workload did not take";
    }
}

WaitingWorkload::WaitingWorkload(const std::string& report_path, const std::string& out_path,
                                 const std::string& err_path)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    release_fd_ = fds[1];
    process_ = std::make_unique<Background>(
        std::vector<std::string>{SEGMENT_WORKLOAD_BIN, report_path, "--wait-fd", std::to_string(fds[0])}, out_path,
        err_path, fds[0]);
    close(fds[0]);
}

WaitingWorkload::~WaitingWorkload()
{
    if (release_fd_ >= 0)
        close(release_fd_);
}

void WaitingWorkload::release()
{
    ASSERT_EQ(write(release_fd_, "x", 1), 1);
    close(release_fd_);
    release_fd_ = -1;
}
