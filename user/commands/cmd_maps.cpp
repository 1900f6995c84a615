#include "commands/cmd_maps.h"

#include <fcntl.h>
#include <sstream>
#include <stdexcept>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "analysis/pictured_process.h"
#include "output/format_util.h"
#include "model/layout.h"
#include "output/output_file.h"
#include "output/render_diagram.h"
#include "pipeline/pipeline.h"
#include "source/proc_probe.h"
#include "source/synthesizer.h"

namespace memtrace {

void setup_maps_options(CLI::App& app, MapsOptions& o)
{
    app.add_option("-p,--pid", o.pid, "Process to show")->required()->check(CLI::PositiveNumber);
    app.add_flag("--json", o.json, "JSON array of rows instead of a table");
    app.add_flag("--diagram", o.diagram, "The layout diagram (as the live view draws it), shaded by resident memory")
        ->excludes("--json");
}

namespace {

// The rows of `memtrace maps` as diagram rows: shaded by their resident bytes.
std::vector<DiagramRow> resident_diagram_rows(const std::vector<LayoutRow>& layout, const AddressSpace& space,
                                              const SegmentTable& segments)
{
    const std::string program = program_path(space);
    std::vector<DiagramRow> rows;
    for (const LayoutRow& r : layout) {
        const SegmentInfo& info = segments.at(r.segment_id);
        DiagramRow row;
        row.start = r.start;
        row.end = r.end;
        row.label = r.segment;
        row.value = r.resident_bytes;
        if (info.kind == SegmentKind::Section)
            row.group = base_name(info.object);
        row.keep_apart = (info.kind == SegmentKind::Section && info.object == program) ||
                         info.kind == SegmentKind::Heap || info.kind == SegmentKind::Stack;
        rows.push_back(std::move(row));
    }
    return rows;
}

int terminal_width(int fd)
{
    winsize ws{};
    return isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
}

}  // namespace

int run_maps(const MapsOptions& o)
{
    ProcStat stat = read_proc_stat(o.pid);
    // The same records a trace starts from, through the same model.
    PlainCodeNamer namer;
    PipelineOptions options;
    options.sites = 0;
    Pipeline pipeline(options, namer);
    ProcProbe probe;
    Synthesizer synth(probe, [&](const void* data, size_t size) { pipeline.handle(data, size); });
    synth.trace_start(0, static_cast<uint32_t>(o.pid), 0);
    synth.attach(static_cast<uint32_t>(o.pid), 0);
    const Process* process = pipeline.processes().find(static_cast<uint32_t>(o.pid));
    if (!process)
        throw std::runtime_error(fmt::format("no process with pid {}", o.pid));

    // /proc/PID/pagemap: one 64-bit entry per page, bit 63 = present. Readable without root for
    // one's own processes (the frame numbers are hidden then, the present bit is not).
    int pagemap = open(fmt::format("/proc/{}/pagemap", o.pid).c_str(), O_RDONLY | O_CLOEXEC);
    ResidencyProbe residency = [&](uint64_t start, uint64_t end, uint64_t& resident) {
        if (pagemap < 0)
            return false;
        resident = 0;
        std::vector<uint64_t> entries(4096);
        for (uint64_t page = start / 4096; page < end / 4096;) {
            size_t n = std::min<uint64_t>(entries.size(), end / 4096 - page);
            ssize_t got = pread(pagemap, entries.data(), n * 8, static_cast<off_t>(page * 8));
            if (got <= 0)
                return false;
            for (ssize_t i = 0; i < got / 8; ++i)
                resident += (entries[i] >> 63) ? 4096 : 0;
            page += got / 8;
        }
        return true;
    };
    std::vector<LayoutRow> rows = build_layout(process->space(), pipeline.processes().segments(), residency);
    if (pagemap >= 0)
        close(pagemap);
    std::ostringstream out;
    if (o.json) {
        render_layout_json(out, rows);
    } else if (o.diagram) {
        fmt::print(out, "pid {} ({})\n", o.pid, terminal_safe(stat.comm));
        DiagramStyle style;
        style.value_title = "resident";
        style.format_value = [](uint64_t bytes) { return human_bytes(bytes); };
        style.quiet = "not resident";
        for (const std::string& line : render_diagram(resident_diagram_rows(rows, process->space(),
                                                                            pipeline.processes().segments()),
                                                      style, terminal_width(STDOUT_FILENO), 0))
            fmt::print(out, "{}\n", line);
    } else {
        fmt::print(out, "pid {} ({})\n", o.pid, terminal_safe(stat.comm));
        render_layout_text(out, rows);
    }
    write_text(STDOUT_FILENO, out.str(), "the layout");
    return 0;
}

}  // namespace memtrace
