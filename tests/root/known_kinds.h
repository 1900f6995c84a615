// The segment workload's known faults summed by segment kind, the unit of -a and the exporter
// (which count per process and kind in the kernel, without the per-segment model), and the
// workload started blocked, so that a count taken from its release on holds only what it did.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "segment_phases.h"
#include "subprocess.h"

// Faults per kind ("bss", "heap", "shm", ...) the workload's phases took, from its report.
std::map<std::string, uint64_t> known_kind_faults(const WorkloadReport& w);

// Each known kind counted at least its known faults and at most a few more (gtest asserts):
// after its release the workload also touches a few pages of its own outside the phases.
void expect_kinds_match(const std::map<std::string, uint64_t>& counted, const WorkloadReport& w);

// The segment workload, started blocked on a pipe until release().
class WaitingWorkload {
public:
    WaitingWorkload(const std::string& report_path, const std::string& out_path, const std::string& err_path);
    ~WaitingWorkload();
    pid_t pid() const { return process_->pid(); }
    void release();
    int wait(int timeout_s = 60) { return process_->wait(timeout_s); }

private:
    int release_fd_ = -1;
    std::unique_ptr<Background> process_;
};
