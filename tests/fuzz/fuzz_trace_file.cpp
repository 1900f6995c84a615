// Trace files of any bytes: TraceReader on the whole input (the header, the description, blocks of
// any sizes, checksums, zstd frames, record lengths), every record it yields through the report
// pipeline, the end of the stream as memtrace report makes it, and the summary in text and JSON.
// A bad file must give std::runtime_error (at open) or a problem line (while reading), never a
// crash, a hang, a sanitizer report or an allocation beyond the format's bounds.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/types.h>

#include "output/render_json.h"
#include "output/render_text.h"
#include "pipeline/pipeline.h"
#include "stream/record_builder.h"
#include "stream/trace_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static int fd = memfd_create("trace", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
        return 0;
    try {
        memtrace::TraceReader reader(fd, "input");
        memtrace::PlainCodeNamer namer;
        memtrace::Pipeline pipeline({}, namer);
        memtrace::Report summary;
        pipeline.set_report_handler([&](const memtrace::Report& r, uint32_t) {
            if (r.final)
                summary = r;
        });
        memtrace::TraceReader::Ending ending = reader.read([&](const void* d, size_t n) { pipeline.handle(d, n); });
        if (!ending.complete && ending.problem.empty())
            __builtin_trap();  // an incomplete read must say why
        if (!pipeline.ended()) {
            mt_tick end{};
            end.hdr = memtrace::header(MT_REC_TICK, 0, pipeline.origin_ns() + 1);
            end.flags = MT_TICK_FINAL;
            pipeline.handle(&end, sizeof(end));
        }
        std::ostringstream text, json;
        memtrace::render_text(text, summary);
        memtrace::render_json_line(json, summary);
    } catch (const std::runtime_error&) {
        // A file memtrace report refuses with one line.
    }
    return 0;
}
