// The segment workload (tests/workloads/segment_workload.c) touches known pages in known segments,
// phase by phase, and writes what it did: these read that report and hold memtrace's --events
// output to it, phase by phase (shared by the live and the record/report root tests).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct Event {
    std::string kind;  // "fault", "major", "mprotect", ...
    uint64_t addr = 0;
    uint32_t pid = 0, tid = 0;
    std::string access, mode, segment;
};

// Parses memtrace --events output (see EventPrinter): TIME COMM/PID/TID EVENT DETAILS...
std::vector<Event> parse_events(const std::string& text);

struct Phase {
    std::string name, segment, mode;
    uint64_t start, end, pages;
    long kernel_faults;
};

struct WorkloadReport {
    uint32_t pid;
    uint64_t marker;
    std::vector<Phase> phases;
};

WorkloadReport read_workload_report(const std::string& path);
// Checks every phase of the workload against memtrace's events, window by window (gtest asserts).
void expect_phases_match(const std::vector<Event>& events, const WorkloadReport& w);
