// Names from the traced side (file paths, comms, symbols, thread names) of any bytes, through every
// text output: the text report, the live view, -a's live table, the --events lines and the `maps`
// table. None may
// put a control byte, a C1 control, a bidi or line-separator code point or invalid UTF-8 on the
// terminal, and none may add or remove a line: the output has the shape it has with plain names.
// The JSON report must keep every name exactly (read back equal, byte for byte).
//
// Input: names separated by 0xff 0x00 (in order: a segment label, the comm, a site location, a
// stack frame, a crash explanation, a mapped path, an exec file name); missing ones are empty.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <linux/types.h>

#include "output/event_printer.h"
#include "output/format_util.h"
#include "model/layout.h"
#include "output/render_json.h"
#include "output/render_live.h"
#include "output/render_text.h"
#include "output/render_top.h"
#include "model/process_table.h"
#include "memtrace/events.h"

namespace {

using namespace memtrace;

enum Name { kLabel, kComm, kSite, kFrame, kCrash, kPath, kExecFile, kNames };

std::vector<std::string> split_names(std::string_view in)
{
    std::vector<std::string> names;
    for (size_t at = 0;;) {
        size_t sep = in.find(std::string_view("\xff\x00", 2), at);
        names.emplace_back(in.substr(at, sep == std::string_view::npos ? std::string_view::npos : sep - at));
        if (sep == std::string_view::npos || names.size() == kNames)
            break;
        at = sep + 2;
    }
    names.resize(kNames);
    return names;
}

Report report_with(const std::vector<std::string>& n)
{
    Report r;
    r.final = true;
    r.faults = 3;
    SegmentRow s;
    s.label = n[kLabel];
    s.faults = 3;
    r.segments.push_back(s);
    ProcessRow p;
    p.pid = 7;
    p.comm = n[kComm];
    p.faults = 3;
    p.kernel_known = true;
    p.kernel_faults = 3;
    r.processes.push_back(p);
    SiteRow site;
    site.location = n[kSite];
    site.segment = n[kLabel];
    site.faults = 3;
    r.sites.push_back(site);
    r.stacks = true;
    StackRow stack;
    stack.comm = n[kComm];
    stack.frames = {n[kFrame], "main"};
    stack.count = 3;
    r.fault_stacks.push_back(stack);
    CrashRow crash;
    crash.signal = "SIGSEGV";
    crash.code = "SEGV_MAPERR";
    crash.explanation = n[kCrash];
    crash.location = n[kSite];
    r.crashes.push_back(crash);
    return r;
}

// The checks themselves are not what is fuzzed: no coverage callbacks on every byte they look at
// (they were most of the run time).
#define NOT_FUZZED __attribute__((no_sanitize("coverage")))

// Valid UTF-8, checked here rather than by the library under test.
NOT_FUZZED bool utf8_ok(const std::string& s)
{
    for (size_t i = 0; i < s.size();) {
        unsigned char b = static_cast<unsigned char>(s[i]);
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (!len || i + len > s.size())
            return false;
        for (size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

// Every byte a terminal would act on, or that is not UTF-8. `newlines`: '\n' separates lines.
NOT_FUZZED void check_terminal_safe(const std::string& out, bool newlines)
{
    if (!utf8_ok(out))
        __builtin_trap();
    for (size_t i = 0; i < out.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(out[i]);
        if ((c < 0x20 && !(newlines && c == '\n')) || c == 0x7f)
            __builtin_trap();
        if (c == 0xc2 && i + 1 < out.size() && static_cast<unsigned char>(out[i + 1]) < 0xa0)
            __builtin_trap();  // U+0080..U+009F
        if (c == 0xe2 && i + 2 < out.size()) {
            unsigned char c1 = static_cast<unsigned char>(out[i + 1]), c2 = static_cast<unsigned char>(out[i + 2]);
            bool bidi_or_separator = (c1 == 0x80 && (c2 == 0x8e || c2 == 0x8f || (c2 >= 0xa8 && c2 <= 0xae))) ||
                                     (c1 == 0x81 && c2 >= 0xa6 && c2 <= 0xa9);
            if (bidi_or_separator)
                __builtin_trap();
        }
    }
}

NOT_FUZZED size_t lines_of(const std::string& s)
{
    size_t n = 0;
    for (char c : s)
        n += c == '\n';
    return n;
}


std::string text_of(const Report& r)
{
    std::ostringstream out;
    render_text(out, r);
    return out.str();
}

std::string events_of(const std::vector<std::string>& n)
{
    SegmentTable segments;
    ObjectTable objects;
    Process process;
    process.pid = 7;
    process.comm = n[kComm];
    process.memory = std::make_shared<MemoryMap>(segments, objects);
    Region file;
    file.start = 0x10000;
    file.end = 0x11000;
    file.kind = RegionKind::File;
    file.path = n[kPath];
    process.memory->space.map(file);
    char* buf = nullptr;
    size_t len = 0;
    std::FILE* f = open_memstream(&buf, &len);  // in memory: a file per run would be most of the cost
    if (!f)
        return {};
    {
        EventPrinter printer(f, segments, 0);
        mt_mmap m{};
        m.hdr.type = MT_REC_MMAP;
        m.hdr.tgid = m.hdr.tid = 7;
        m.addr = 0x10000;
        m.len = 0x1000;
        printer.print(*decode_record(&m, sizeof(m)), SegmentTable::kUnmapped, process);
        m.hdr.type = MT_REC_VMA;
        // The record's own path, as leaf-first components: the name as one component.
        size_t n_path = std::min(n[kPath].size(), sizeof(m.path) - 1);
        std::memcpy(m.path, n[kPath].data(), n_path);
        m.path_len = static_cast<__u16>(n_path + 1);
        printer.print(*decode_record(&m, sizeof(m)), SegmentTable::kUnmapped, process);
        mt_exec e{};
        e.hdr.type = MT_REC_EXEC;
        e.hdr.tgid = e.hdr.tid = 7;
        std::memcpy(e.filename, n[kExecFile].data(), std::min(n[kExecFile].size(), sizeof(e.filename)));
        printer.print(*decode_record(&e, sizeof(e)), SegmentTable::kUnmapped, process);
        mt_fault fault{};
        fault.hdr.type = MT_REC_FAULT;
        fault.hdr.tgid = fault.hdr.tid = 7;
        fault.addr = 0x10000;
        printer.print(*decode_record(&fault, sizeof(fault)), process.space().segment_of(0x10000), process);
    }
    std::fclose(f);
    std::string out(buf, len);
    std::free(buf);
    return out;
}

std::string layout_of(const std::vector<std::string>& n)
{
    LayoutRow row;
    row.start = 0x1000;
    row.end = 0x2000;
    row.perms = "r--p";
    row.segment = n[kLabel];
    row.mapping = n[kPath];
    std::ostringstream out;
    render_layout_text(out, {row});
    return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::vector<std::string> names = split_names(std::string_view(reinterpret_cast<const char*>(data), size));
    // The same names made tame ("x"; an empty one stays empty: some lines are there only for a
    // name). Their line counts depend on which names are empty only: computed once per pattern.
    std::vector<std::string> plain;
    unsigned empty_mask = 0;
    for (size_t i = 0; i < names.size(); ++i) {
        plain.push_back(names[i].empty() ? "" : "x");
        empty_mask |= names[i].empty() ? 1u << i : 0;
    }
    struct TameLines {
        bool known = false;
        size_t text = 0, events = 0, layout = 0;
    };
    static TameLines tame_lines[1u << kNames];
    TameLines& tame = tame_lines[empty_mask];
    if (!tame.known) {
        tame = {true, lines_of(text_of(report_with(plain))), lines_of(events_of(plain)), lines_of(layout_of(plain))};
    }

    const Report hostile = report_with(names);
    std::string text = text_of(hostile);
    check_terminal_safe(text, true);
    if (lines_of(text) != tame.text)
        __builtin_trap();

    for (const std::string& line : render_live_frame(hostile, {"pid 7 (" + names[kComm] + ")", ""}, 80, 24)) {
        check_terminal_safe(line, false);
        if (display_width(line) != 80)
            __builtin_trap();
    }

    // -a's live table: the comm and the cgroup path from the traced side, the filter (a cgroup
    // path) and a status line that names the process.
    {
        Report top;
        top.system_wide = true;
        ActivityRow row;
        row.pid = 7;
        row.comm = names[kComm];
        row.cgroup = names[kPath];
        row.interval_faults = 3;
        top.activity.push_back(row);
        row.pid = 0;
        row.comm.clear();
        top.cgroup_activity.push_back(row);
        for (TopRows rows : {TopRows::Processes, TopRows::Cgroups}) {
            TopSelection selection(rows);
            selection.follow(top);
            const TopFrame f = render_top_frame(top, selection,
                                                {"cgroup " + names[kPath], "pid 7 (" + names[kComm] + ") has exited"},
                                                80, 6);
            for (const std::string& line : f.lines) {
                check_terminal_safe(line, false);
                if (display_width(line) != 80)
                    __builtin_trap();
            }
        }
    }

    std::string events = events_of(names);
    check_terminal_safe(events, true);
    if (lines_of(events) != tame.events)
        __builtin_trap();

    std::string layout = layout_of(names);
    check_terminal_safe(layout, true);
    if (lines_of(layout) != tame.layout)
        __builtin_trap();

    // JSON keeps every name as it was.
    const nlohmann::json j = nlohmann::json::parse(report_to_json(hostile).dump());
    auto bytes_of = [](const nlohmann::json& v) {
        if (v.is_string())
            return v.get<std::string>();
        std::string s;
        for (const auto& b : v)
            s += static_cast<char>(b.get<int>());
        return s;
    };
    if (bytes_of(j["segments"][0]["segment"]) != names[kLabel] || bytes_of(j["processes"][0]["comm"]) != names[kComm] ||
        bytes_of(j["sites"][0]["location"]) != names[kSite] ||
        bytes_of(j["stacks"]["faults"][0]["frames"][0]) != names[kFrame] ||
        bytes_of(j["crashes"][0]["explanation"]) != names[kCrash])
        __builtin_trap();
    return 0;
}
