#include "output/report_output.h"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "output/output_file.h"
#include "output/render_activity.h"
#include "output/render_json.h"
#include "output/render_text.h"

namespace memtrace {

const char* end_reason_text(uint32_t end_reason)
{
    switch (end_reason) {
    case MT_END_TARGET_EXITED: return "the target exited";
    case MT_END_ALL_EXITED: return "the target and its children exited";
    case MT_END_INTERRUPTED: return "interrupted";
    case MT_END_TERMINATED: return "terminated";
    case MT_END_QUIT: return "quit";
    case MT_END_DURATION: return "duration elapsed";
    case MT_END_CUT_SHORT: return "the recording was cut short: this is what it holds";
    default: return "the trace ended";
    }
}

namespace {

void render(std::ostream& out, const Report& report, bool by_cgroup)
{
    if (report.system_wide)
        render_activity_text(out, report, by_cgroup);
    else
        render_text(out, report);
}

}  // namespace

std::string summary_text(const Report& report, uint32_t end_reason, bool by_cgroup)
{
    std::ostringstream out;
    render(out, report, by_cgroup);
    fmt::print(out, "memtrace: {}\n", end_reason_text(end_reason));
    return out.str();
}

void TextOutput::interval(const Report& report)
{
    std::ostringstream out;
    render(out, report, by_cgroup_);
    write_text(fd_, out.str(), "the report");
}

void TextOutput::summary(const Report& report, uint32_t end_reason)
{
    write_text(fd_, summary_text(report, end_reason, by_cgroup_), "the report");
}

void JsonOutput::interval(const Report& report)
{
    std::ostringstream out;
    render_json_line(out, report);
    write_text(fd_, out.str(), "the report");
}

void JsonOutput::summary(const Report& report, uint32_t) { interval(report); }

EventsOutput::EventsOutput(std::FILE* events, const Pipeline& pipeline, int summary_fd)
    : pipeline_(pipeline), printer_(events, pipeline.processes().segments()), summary_fd_(summary_fd)
{
    printer_.print_header();
}

void EventsOutput::record(const Record& record, SegmentId segment, const Process& process)
{
    printer_.set_origin(pipeline_.origin_ns());
    printer_.print(record, segment, process);
}

void EventsOutput::interval(const Report&) { printer_.flush(); }

void EventsOutput::summary(const Report& report, uint32_t end_reason)
{
    printer_.flush();
    write_text(summary_fd_, summary_text(report, end_reason), "the summary");
}

}  // namespace memtrace
