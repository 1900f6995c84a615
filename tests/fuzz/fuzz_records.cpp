// Ring-buffer records of every size and type, in any order, then everything that consumes them:
// TraceState::handle, the --events printer, TraceState::report and the text, JSON and live
// renderers. The BPF program is not trusted to send well-formed records.
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
//           sample) and handed to TraceState::handle. A chunk of length 0 closes an interval:
//           report() runs, and every renderer for the first three.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <linux/types.h>

#include "core/elf_image.h"
#include "core/event_printer.h"
#include "core/maps_parser.h"
#include "core/render_json.h"
#include "core/render_live.h"
#include "core/render_text.h"
#include "core/trace_state.h"
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

class FuzzSource : public memtrace::ProcessSource {
public:
    std::vector<memtrace::MapsEntry> target_maps;

    std::vector<memtrace::MapsEntry> maps(int pid) override
    {
        if (pid != static_cast<int>(kPid))
            throw std::runtime_error("no such process");  // what /proc says of a process that is gone
        return target_maps;
    }
    std::shared_ptr<const memtrace::ElfImage> elf(const std::string& path) override
    {
        return path.find("nonelf") == std::string::npos ? self_image() : nullptr;
    }
    uint64_t shm_size(int64_t shmid) override { return shmid >= 0 ? 4096 * (1 + (shmid & 15)) : 4096; }
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

void render_all(memtrace::TraceState& state, uint8_t flags, int width, int height, bool final, size_t intervals)
{
    state.set_kernel_counters(state.faults() + intervals, intervals);
    memtrace::Report report = state.report(0.5 * intervals, 0.5, final);
    std::ostringstream text, json;
    if (flags & 32)
        memtrace::render_text(text, report);
    if (flags & 64)
        memtrace::render_json_line(json, report);
    memtrace::LiveTitle title{"pid 100 (app)", final ? "target exited" : ""};
    std::vector<std::string> frame = memtrace::render_live_frame(report, title, width, height);
    if (frame.size() != static_cast<size_t>(height > 0 ? height : 0))
        __builtin_trap();  // "exactly `height` lines"
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

    FuzzSource source;
    const uint8_t* chunk;
    size_t len;
    if ((flags & 4) && in.next(chunk, len)) {
        std::istringstream text(std::string(reinterpret_cast<const char*>(chunk), len));
        try {
            source.target_maps = memtrace::parse_maps(text);
        } catch (const std::runtime_error&) {
            source.target_maps = default_maps();
        }
    } else {
        static const std::vector<memtrace::MapsEntry> maps = default_maps();
        source.target_maps = maps;
    }

    memtrace::TraceState state(source, stack_limit);
    if (flags & 1) {
        state.attach_launched(kPid, "memtrace");
    } else {
        state.attach(kPid, "app");
        if (flags & 8)
            state.set_kernel_baseline(kPid, 1000, false);
        if (flags & 16)
            state.label_thread_stack(kPid, kPid + 1, 0x7f0000080000);
    }
    std::unique_ptr<memtrace::EventPrinter> printer;
    if (flags & 2) {
        printer = std::make_unique<memtrace::EventPrinter>(devnull, state.segments(), 0);
        printer->print_header();
        state.set_observer([&](const mt_header& h, memtrace::SegmentId segment, const memtrace::ProcessState& p) {
            printer->print(h, segment, p);
        });
    }

    size_t intervals = 0;
    while (in.next(chunk, len)) {
        if (len == 0) {
            // Rendering dominates the run time: draw the first few intervals, count the rest.
            if (++intervals <= 3)
                render_all(state, flags, width, height, false, intervals);
            else
                (void)state.report(0.5 * intervals, 0.5, false);
            continue;
        }
        // Exactly `len` bytes: ASan reports a read past the record's end.
        std::unique_ptr<uint8_t[]> record(new uint8_t[len]);
        std::memcpy(record.get(), chunk, len);
        state.handle(record.get(), len);
    }
    render_all(state, flags, width, height, true, ++intervals);
    if (printer) {
        try {
            printer->flush();
        } catch (const std::runtime_error&) {
        }
    }
    return 0;
}
