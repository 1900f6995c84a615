#include "output/report_output.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ostream.h>

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

void check_written(std::ostream& out, const char* what)
{
    errno = 0;
    out.flush();
    if (out.fail())
        throw std::runtime_error(fmt::format("cannot write {}: {}", what, errno ? strerror(errno) : "output error"));
}

void TextOutput::interval(const Report& report)
{
    render_text(out_, report);
    check_written(out_, "the report");
}

void TextOutput::summary(const Report& report, uint32_t end_reason)
{
    render_text(out_, report);
    fmt::print(out_, "memtrace: {}\n", end_reason_text(end_reason));
    check_written(out_, "the report");
}

void JsonOutput::interval(const Report& report)
{
    render_json_line(out_, report);
    check_written(out_, "the report");
}

void JsonOutput::summary(const Report& report, uint32_t)
{
    render_json_line(out_, report);
    check_written(out_, "the report");
}

EventsOutput::EventsOutput(std::FILE* events, const Pipeline& pipeline, std::ostream& summary_out)
    : pipeline_(pipeline), printer_(events, pipeline.processes().segments()), summary_out_(summary_out)
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
    render_text(summary_out_, report);
    fmt::print(summary_out_, "memtrace: {}\n", end_reason_text(end_reason));
    summary_out_.flush();
}

}  // namespace memtrace
