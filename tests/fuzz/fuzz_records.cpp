// Records of every size and type, in any order, then everything that consumes them: the
// synthesizer (as for ring-buffer records), the pipeline (decoder, process table, analyses), the
// --events printer, the reports and the text, JSON and live renderers. Neither the BPF program
// nor a trace file is trusted to hold well-formed records. Each report must hold together: its
// segments sum to its total, no process counts more than the total, its JSON parses back.
//
// Input: a header of 4 bytes, then chunks.
//   byte 0  flags: 1 attach_launched instead of attach, 2 --events printer as observer,
//           4 the first chunk is the /proc/PID/maps text the source returns for the target,
//           8 a kernel baseline from /proc, 16 label a thread stack at attach, 32 render text,
//           64 render JSON (the live view is always drawn; text and JSON are the slow ones)
//   byte 1, 2  the live view's terminal width and height
//   byte 3  stack rlimit, in MiB (0: 8)
//   chunk   u16 little-endian length, then that many bytes (fewer at the end of the input); each
//           is copied into its own allocation of exactly that size (aligned like a ring-buffer
//           sample) and handed to the synthesizer. A chunk of length 0 closes an interval: a
//           tick record, and every renderer for the first three reports.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <linux/types.h>

#include <nlohmann/json.hpp>

#include "model/elf_image.h"
#include "model/maps_parser.h"
#include "output/render_activity.h"
#include "output/render_json.h"
#include "output/render_live.h"
#include "output/render_text.h"
#include "output/render_top.h"
#include "output/format_util.h"
#include "output/report_output.h"
#include "pipeline/pipeline.h"
#include "source/synthesizer.h"
#include "memtrace/events.h"

namespace {

constexpr uint32_t kPid = 100;

// An ELF image with real sections for every file mapping: the fuzzer's own binary.
std::shared_ptr<const memtrace::ElfImage> self_image()
{
    static auto image = memtrace::ElfImage::load("/proc/self/exe");
    return image;
}

// /proc/PID/maps of a process whose executable and "libc" are the image above.
std::vector<memtrace::MapsEntry> default_maps()
{
    std::string text;
    auto add_image = [&](uint64_t base, const char* path, uint64_t inode) {
        auto image = self_image();
        if (!image)
            return;
        for (const memtrace::ElfLoad& l : image->loads()) {
            uint64_t start = base + (l.vaddr & ~0xfffULL);
            uint64_t file_end = base + ((l.vaddr + l.filesz + 0xfff) & ~0xfffULL);
            uint64_t mem_end = base + ((l.vaddr + l.memsz + 0xfff) & ~0xfffULL);
            char line[256];
            snprintf(line, sizeof line, "%lx-%lx r%c%cp %08lx fe:01 %lu %s\n", (unsigned long)start,
                     (unsigned long)(file_end > start ? file_end : start + 0x1000), l.writable ? 'w' : '-',
                     l.executable ? 'x' : '-', (unsigned long)(l.offset & ~0xfffULL), (unsigned long)inode, path);
            text += line;
            if (mem_end > file_end) {
                snprintf(line, sizeof line, "%lx-%lx rw-p 00000000 00:00 0 \n", (unsigned long)file_end,
                         (unsigned long)mem_end);
                text += line;
            }
        }
    };
    add_image(0x555555554000, "/usr/bin/app", 4242);
    text += "555558000000-555558021000 rw-p 00000000 00:00 0                          [heap]\n";
    text += "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n";
    add_image(0x7f0000100000, "/usr/lib/x86_64-linux-gnu/libc.so.6", 777);
    text += "7f0010000000-7f0010001000 rw-s 00000000 00:01 1024                       /dev/zero (deleted)\n";
    text += "7f0010001000-7f0010002000 rw-s 00000000 00:01 32769                      /SYSV00000000 (deleted)\n";
    text += "7f0010002000-7f0010003000 rw-s 00000000 fe:01 999                        /tmp/data file\n";
    text += "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";
    text += "7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0                          [vvar]\n";
    text += "7ffff7fc5000-7ffff7fc7000 r-xp 00000000 00:00 0                          [vdso]\n";
    std::istringstream in(text);
    return memtrace::parse_maps(in);
}

class FuzzProbe : public memtrace::ProcessProbe {
public:
    std::vector<memtrace::MapsEntry> target_maps;

    std::vector<memtrace::MapsEntry> maps(uint32_t pid) override
    {
        if (pid != kPid)
            throw std::runtime_error("no such process");  // what /proc says of a process that is gone
        return target_maps;
    }
    memtrace::ObjectInfo object(const memtrace::MappedFile& file) override
    {
        memtrace::ObjectInfo info;
        info.dev = file.dev;
        info.ino = file.ino;
        info.path = file.path;
        if (file.path.find("nonelf") == std::string::npos)
            info.elf = self_image();
        return info;
    }
    uint64_t shm_size(int64_t shmid) override { return shmid >= 0 ? 4096 * (1 + (shmid & 15)) : 4096; }
    std::optional<memtrace::ProcessFacts> facts(uint32_t pid) override
    {
        if (pid != kPid)
            return std::nullopt;
        return memtrace::ProcessFacts{"app", baseline};
    }
    std::vector<std::pair<uint32_t, uint64_t>> thread_stack_pointers(uint32_t) override { return threads; }
    std::optional<memtrace::ResidentPages> resident(uint32_t) override { return std::nullopt; }
    uint64_t stack_limit(uint32_t) override { return stack_limit_bytes; }
    // A perf map as hostile as the rest: whatever the input says.
    std::string perf_map_appended(uint32_t, size_t max_bytes) override
    {
        std::string out = perf_map.substr(0, max_bytes);
        perf_map.erase(0, out.size());
        return out;
    }
    void perf_map_done(uint32_t) override {}
    std::string perf_map;

    std::optional<uint64_t> baseline;
    std::vector<std::pair<uint32_t, uint64_t>> threads;
    uint64_t stack_limit_bytes = 8 << 20;
};

struct Reader {
    const uint8_t* data;
    size_t size;

    bool next(const uint8_t*& chunk, size_t& len)
    {
        if (size < 2)
            return false;
        len = data[0] | (data[1] << 8);
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        chunk = data;
        data += len;
        size -= len;
        return true;
    }
};

// The report holds together, whatever the records were.
void check(const memtrace::Report& r)
{
    uint64_t segment_faults = 0, segment_major = 0, process_faults = 0;
    for (const memtrace::SegmentRow& s : r.segments) {
        segment_faults += s.faults;
        segment_major += s.major;
    }
    for (const memtrace::ProcessRow& p : r.processes)
        process_faults += p.faults;
    if (segment_faults != r.faults || segment_major > r.major || process_faults > r.faults ||
        r.interval_faults > r.faults)
        __builtin_trap();
}

void render_all(const memtrace::Report& report, uint8_t flags, int width, int height)
{
    check(report);
    std::ostringstream text, json;
    if (flags & 32) {
        memtrace::render_text(text, report);
        if (report.system_wide)
            memtrace::render_activity_text(text, report, report.activity.empty());
    }
    if (flags & 64) {
        memtrace::render_json_line(json, report);
        (void)nlohmann::json::parse(json.str());  // throws (and so crashes the run) if it does not parse
    }
    memtrace::LiveTitle title{"pid 100 (app)", report.final ? "target exited" : ""};
    std::vector<std::string> frame = memtrace::render_live_frame(report, title, width, height);
    if (frame.size() != static_cast<size_t>(height > 0 ? height : 0))
        __builtin_trap();  // "exactly `height` lines"
    if (report.system_wide) {
        // -a's live table, by process and by cgroup, with the selection on the last row.
        for (memtrace::TopRows rows : {memtrace::TopRows::Processes, memtrace::TopRows::Cgroups}) {
            memtrace::TopSelection selection(rows);
            selection.follow(report);
            selection.move(report, 1L << 30);
            const memtrace::TopFrame top = memtrace::render_top_frame(report, selection, {"every process", ""}, width, height);
            if (top.lines.size() != static_cast<size_t>(height > 0 ? height : 0))
                __builtin_trap();
            for (const std::string& line : top.lines)
                if (memtrace::display_width(line) != static_cast<size_t>(width))
                    __builtin_trap();  // "exactly `width` columns"
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 4)
        return 0;
    static std::FILE* devnull = std::fopen("/dev/null", "w");
    const uint8_t flags = data[0];
    const int width = data[1], height = data[2];
    const uint64_t stack_limit = data[3] ? uint64_t(data[3]) << 20 : 8 << 20;
    Reader in{data + 4, size - 4};

    FuzzProbe probe;
    probe.stack_limit_bytes = stack_limit;
    const uint8_t* chunk;
    size_t len;
    if ((flags & 4) && in.next(chunk, len)) {
        std::istringstream text(std::string(reinterpret_cast<const char*>(chunk), len));
        try {
            probe.target_maps = memtrace::parse_maps(text);
        } catch (const std::runtime_error&) {
            probe.target_maps = default_maps();
        }
    } else {
        static const std::vector<memtrace::MapsEntry> maps = default_maps();
        probe.target_maps = maps;
    }
    if (flags & 8)
        probe.baseline = 1000;
    if (flags & 16)
        probe.threads = {{kPid + 1, 0x7f0000080000}};

    memtrace::PlainCodeNamer namer;
    memtrace::Pipeline pipeline({}, namer);
    size_t reports = 0;
    pipeline.set_report_handler([&](const memtrace::Report& report, uint32_t) {
        // Rendering dominates the run time: draw the first few reports and the last, check the rest.
        if (++reports <= 3 || report.final)
            render_all(report, flags, width, height);
        else
            check(report);
    });
    memtrace::Synthesizer synth(probe, [&](const void* d, size_t n) { pipeline.handle(d, n); });
    std::unique_ptr<memtrace::EventsOutput> events;
    static const int devnull_fd = fileno(devnull);
    if (flags & 2) {
        events = std::make_unique<memtrace::EventsOutput>(devnull, pipeline, devnull_fd);
        pipeline.set_record_observer([&](const memtrace::Record& r, memtrace::SegmentId segment,
                                         const memtrace::Process& p) { events->record(r, segment, p); });
    }
    synth.trace_start(0, kPid, 0);
    if (flags & 1)
        synth.attach_launched(kPid, "memtrace", stack_limit, 0);
    else
        synth.attach(kPid, 0);

    uint64_t intervals = 0;
    while (in.next(chunk, len)) {
        if (len == 0) {
            mt_counters c{};
            c.value[MT_CNT_DROPPED] = ++intervals;
            synth.counters(c, intervals * 500000000ULL);
            synth.tick(intervals * 500000000ULL, false);
            continue;
        }
        // Exactly `len` bytes: ASan reports a read past the record's end.
        std::unique_ptr<uint8_t[]> record(new uint8_t[len]);
        std::memcpy(record.get(), chunk, len);
        synth.kernel_record(record.get(), len);
    }
    synth.tick((intervals + 1) * 500000000ULL, true, MT_END_TARGET_EXITED);
    if (events) {
        try {
            events->interval(memtrace::Report{});
        } catch (const std::runtime_error&) {
        }
    }
    return 0;
}
