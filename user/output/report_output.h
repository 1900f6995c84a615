// Where reports go: one output per mode, fed by the pipeline at each tick. Every write is checked:
// a closed pipe or a full disk ends memtrace with an error, whatever the mode.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <ostream>

#include "model/process_table.h"
#include "output/event_printer.h"
#include "pipeline/pipeline.h"
#include "pipeline/report.h"

namespace memtrace {

class ReportOutput {
public:
    virtual ~ReportOutput() = default;
    virtual void interval(const Report& report) = 0;
    // The last report; `end_reason` is the trace's enum mt_end_reason.
    virtual void summary(const Report& report, uint32_t end_reason) = 0;
};

// "the target exited", "interrupted", ...
const char* end_reason_text(uint32_t end_reason);

// The summary as text, with why the trace ended.
std::string summary_text(const Report& report, uint32_t end_reason, bool by_cgroup = false);

// Plain-text snapshots each interval, then the summary and why the trace ended.
class TextOutput : public ReportOutput {
public:
    // `by_cgroup`: -a's table by cgroup instead of by process.
    explicit TextOutput(int fd, bool by_cgroup = false) : fd_(fd), by_cgroup_(by_cgroup) {}
    void interval(const Report& report) override;
    void summary(const Report& report, uint32_t end_reason) override;

private:
    int fd_;
    bool by_cgroup_;
};

// One NDJSON object per interval, then the summary object.
class JsonOutput : public ReportOutput {
public:
    explicit JsonOutput(int fd) : fd_(fd) {}
    void interval(const Report& report) override;
    void summary(const Report& report, uint32_t end_reason) override;

private:
    int fd_;
};

// One line per record on `events`; the summary goes to `summary_fd` (stderr), apart from them.
class EventsOutput : public ReportOutput {
public:
    // Times count from the start of `pipeline`'s trace.
    EventsOutput(std::FILE* events, const Pipeline& pipeline, int summary_fd);
    void record(const Record& record, SegmentId segment, const Process& process);
    void interval(const Report& report) override;
    void summary(const Report& report, uint32_t end_reason) override;

private:
    const Pipeline& pipeline_;
    EventPrinter printer_;
    int summary_fd_;
};

}  // namespace memtrace
