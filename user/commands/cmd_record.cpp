#include "commands/cmd_record.h"

#include <cstdio>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "output/format_util.h"
#include "output/render_json.h"
#include "pipeline/report.h"
#include "stream/trace_writer.h"
#include "version.h"

namespace memtrace {
namespace {

// What a report on another machine wants to know of this one.
nlohmann::json description(const RecordOptions& o)
{
    nlohmann::json meta;
    meta["memtrace"] = {{"version", MEMTRACE_VERSION}, {"commit", MEMTRACE_GIT_COMMIT}};
    utsname u{};
    if (uname(&u) == 0)
        meta["host"] = {{"name", u.nodename}, {"kernel", u.release}, {"machine", u.machine}};
    if (o.trace.pid)
        meta["target"] = {{"pid", o.trace.pid}};
    else {
        nlohmann::json argv = nlohmann::json::array();
        for (const std::string& arg : o.trace.command)
            argv.push_back(json_name(arg));  // any bytes, kept exactly
        meta["target"] = {{"command", argv}};
    }
    meta["options"] = {{"follow", o.trace.follow},     {"interval_s", o.trace.interval_s},
                       {"latency", o.trace.latency},   {"stacks", wants_stacks(o.trace)},
                       {"ringbuf_mib", o.trace.ringbuf_mib},
                       {"stack_sample", wants_stacks(o.trace) ? o.trace.stack_sample.value_or(kDefaultStackSample) : 0}};
    return meta;
}

}  // namespace

void setup_record_options(CLI::App& app, RecordOptions& o)
{
    setup_trace_options(app, o.trace);
    app.add_option("-o,--output", o.output, "Trace file to write (default memtrace.data)");
    app.add_flag("--force", o.force, "Overwrite the trace file if it exists");
    app.add_option("--zstd-level", o.zstd_level, "zstd compression level of the blocks (default 3)")
        ->check(CLI::Range(1, 19));
}

int run_record(const RecordOptions& o)
{
    TraceWriter writer(o.output, o.force, description(o), o.zstd_level);
    const bool progress = isatty(STDERR_FILENO);
    uint64_t faults = 0;
    LiveRunExtras extras;
    extras.quiet = true;
    extras.record = [&](const void* data, size_t size) { writer.record(data, size); };
    extras.on_report = [&](const Report& r) {
        faults = r.faults;
        if (progress && !r.final)
            fmt::print(stderr, "\rmemtrace record: {} records, {} written, {} faults/s   ", with_commas(writer.records()),
                       human_bytes(writer.bytes_written()),
                       with_commas(r.interval_s > 0 ? static_cast<uint64_t>(r.interval_faults / r.interval_s) : 0));
    };
    int status = system_wide(o.trace) ? run_system(o.trace, extras) : run_live(o.trace, extras);
    writer.finish();
    fmt::print(stderr, "{}memtrace record: {} records, {} faults in {} ({:.1f} bytes a fault); memtrace report {} reads it\n",
               progress ? "\r" : "", with_commas(writer.records()), with_commas(faults), human_bytes(writer.bytes_written()),
               faults ? static_cast<double>(writer.bytes_written()) / faults : 0.0, o.output);
    return status;
}

}  // namespace memtrace
