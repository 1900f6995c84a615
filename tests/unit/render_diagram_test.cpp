// The live view's pictures, exact: the layout diagram (80x24, a large terminal, merging when the
// rows do not fit, hostile names, memtrace maps' resident shading) and the terminal heatmap.
#include "output/render_diagram.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "output/format_util.h"
#include "output/render_heatmap.h"
#include "output/render_live.h"

using memtrace::DiagramRow;
using memtrace::DiagramStyle;
using memtrace::display_width;
using memtrace::LayoutArea;
using memtrace::LayoutRegion;
using memtrace::LivePanel;
using memtrace::Report;
using memtrace::SegmentHeat;
using memtrace::SegmentKind;

namespace {

// A small program's layout, as LiveLayout reports it: the program, its heap, an anonymous
// mapping, libc and ld.so in sections, the vdso and the stack.
Report layout_report()
{
    Report r;
    r.elapsed_s = 3;
    r.interval_s = 1;
    auto add = [&](uint64_t start, uint64_t end, const char* label, SegmentKind kind, const char* object,
                   uint64_t faults, bool program = false, int64_t growth = 0) {
        LayoutRegion region;
        region.start = start;
        region.end = end;
        region.label = label;
        region.kind = kind;
        region.object = object;
        region.program = program;
        region.interval_faults = faults;
        region.growth = growth;
        r.layout.push_back(region);
    };
    const SegmentKind section = SegmentKind::Section;
    add(0x555555554000, 0x555555555000, "app [headers]", section, "app", 0, true);
    add(0x555555555000, 0x555555557000, "app .text", section, "app", 12, true);
    add(0x555555557000, 0x555555558000, "app .rodata", section, "app", 0, true);
    add(0x555555559000, 0x55555555a000, "app .data", section, "app", 3, true);
    add(0x55555555a000, 0x55555555c000, "app .bss", section, "app", 40, true);
    add(0x55555555d000, 0x55555559f000, "heap", SegmentKind::Heap, "", 2000, false, 0x21000);
    add(0x7ffff7a00000, 0x7ffff7e00000, "anon", SegmentKind::Anon, "", 30000);
    add(0x7ffff7e00000, 0x7ffff7e28000, "libc.so.6 .dynsym", section, "libc.so.6", 0);
    add(0x7ffff7e28000, 0x7ffff7fbd000, "libc.so.6 .text", section, "libc.so.6", 150);
    add(0x7ffff7fbd000, 0x7ffff8015000, "libc.so.6 .rodata", section, "libc.so.6", 4);
    add(0x7ffff8019000, 0x7ffff801b000, "libc.so.6 .data", section, "libc.so.6", 2);
    add(0x7ffff801b000, 0x7ffff8028000, "libc.so.6 .bss", section, "libc.so.6", 1);
    add(0x7ffff8030000, 0x7ffff8032000, "[vvar]", SegmentKind::Special, "", 0);
    add(0x7ffff8032000, 0x7ffff8034000, "[vdso]", SegmentKind::Special, "", 1);
    add(0x7ffff8034000, 0x7ffff8035000, "ld-linux-x86-64.so.2 [headers]", section, "ld-linux-x86-64.so.2", 0);
    add(0x7ffff8035000, 0x7ffff805a000, "ld-linux-x86-64.so.2 .text", section, "ld-linux-x86-64.so.2", 0);
    add(0x7ffff805a000, 0x7ffff8064000, "ld-linux-x86-64.so.2 .rodata", section, "ld-linux-x86-64.so.2", 0);
    add(0x7ffff8066000, 0x7ffff806a000, "ld-linux-x86-64.so.2 .data", section, "ld-linux-x86-64.so.2", 0);
    add(0x7ffffffdc000, 0x7ffffffff000, "stack", SegmentKind::Stack, "", 9, false, 0x3000);
    return r;
}

void expect_exact_size(const std::vector<std::string>& lines, int width, int height)
{
    ASSERT_EQ(lines.size(), static_cast<size_t>(height));
    for (size_t i = 0; i < lines.size(); ++i)
        EXPECT_EQ(display_width(lines[i]), static_cast<size_t>(width)) << "line " << i << ": \"" << lines[i] << '"';
}

// Prints `lines` as the C++ literal a test expects, to update a test after a deliberate change.
std::string as_literal(const std::vector<std::string>& lines)
{
    std::string out = "{\n";
    for (const std::string& l : lines) {
        std::string trimmed = l.substr(0, l.find_last_not_of(' ') + 1);
        out += "    \"" + trimmed + "\",\n";
    }
    return out + "}";
}

// Lines compared without their padding (every line is padded to the width: checked above).
void expect_lines(const std::vector<std::string>& lines, const std::vector<std::string>& expected)
{
    ASSERT_EQ(lines.size(), expected.size()) << as_literal(lines);
    for (size_t i = 0; i < lines.size(); ++i)
        EXPECT_EQ(lines[i].substr(0, lines[i].find_last_not_of(' ') + 1), expected[i])
            << "line " << i << "\n" << as_literal(lines);
}

DiagramStyle faults_style()
{
    DiagramStyle style;
    style.format_value = [](uint64_t n) { return memtrace::with_commas(n); };
    return style;
}

// A heatmap of five segments over 50 intervals: the heap grows in steps, the stack is hot at the
// start, anonymous memory fills from interval 20 on, libc's text faults early, the .bss once.
SegmentHeat heat_fixture()
{
    SegmentHeat heat;
    for (int i = 1; i <= 50; ++i)
        heat.interval_ends_s.push_back(i * 0.5);
    auto band = [&](const char* label, SegmentKind kind, LayoutArea area, uint64_t low, auto faults_at) {
        SegmentHeat::Band b;
        b.label = label;
        b.kind = kind;
        b.area = area;
        b.low = low;
        for (int i = 0; i < 50; ++i)
            b.faults.push_back(faults_at(i));
        heat.bands.push_back(b);
    };
    band("app .bss", SegmentKind::Section, LayoutArea::Program, 0x55555555a000, [](int i) { return i == 2 ? 16 : 0; });
    band("heap", SegmentKind::Heap, LayoutArea::Heap, 0x55555555d000, [](int i) { return i % 10 == 5 ? 300 : 0; });
    band("anon", SegmentKind::Anon, LayoutArea::MmapArea, 0x7ffff7a00000, [](int i) { return i >= 20 ? 100 * (i - 19) : 0; });
    band("libc.so.6 .text", SegmentKind::Section, LayoutArea::MmapArea, 0x7ffff7e28000,
         [](int i) { return i < 5 ? 40 - i * 8 : 0; });
    band("stack", SegmentKind::Stack, LayoutArea::Stacks, 0x7ffffffdc000, [](int i) { return i < 3 ? 3 : i == 49 ? 1 : 0; });
    return heat;
}

TEST(RenderDiagram, Exact80x24Panel)
{
    auto lines = memtrace::render_live_panel(layout_report(), {"pid 1234 (app)", ""}, LivePanel::Diagram, 80, 24);
    expect_exact_size(lines, 80, 24);
    // 28 lines would not fit: ld.so's quiet sections become one row, then libc's lowest three;
    // the program's sections, heap and stack stay.
    expect_lines(lines, {
        "memtrace pid 1234 (app) 3.0s  faults 0 (0/s) major 0 dropped 0",
        "       START ┌─ high addresses ─────────────────────────────────────┐   faults/s",
        "7ffffffdc000 │ stack ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░   140K ↓+12K   │          9",
        "             ┊                   ╌╌ 127.4M gap ╌╌                   ┊",
        "7ffff8034000 │ ld-linux-x86-64.so.2: 4 segments        216K         │",
        "7ffff8032000 │ [vdso] ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░     8K         │          1",
        "7ffff8030000 │ [vvar]                                    8K         │",
        "             ┊                    ╌╌ 32K gap ╌╌                     ┊",
        "7ffff801b000 │ libc.so.6 .bss ░░░░░░░░░░░░░░░░░░░░░░    52K         │          1",
        "7ffff8019000 │ libc.so.6 .data ░░░░░░░░░░░░░░░░░░░░░     8K         │          2",
        "             ┊                    ╌╌ 16K gap ╌╌                     ┊",
        "7ffff7e00000 │ libc.so.6: 3 segments ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒   2.1M         │        154",
        "7ffff7a00000 │ anon ████████████████████████████████     4M         │     30,000",
        "             ┊                   ╌╌ 42.7T gap ╌╌                    ┊",
        "55555555d000 │ heap ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓   264K ↑+132K  │      2,000",
        "             ┊                     ╌╌ 4K gap ╌╌                     ┊",
        "55555555a000 │ app .bss ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒     8K         │         40",
        "555555559000 │ app .data ░░░░░░░░░░░░░░░░░░░░░░░░░░░     4K         │          3",
        "             ┊                     ╌╌ 4K gap ╌╌                     ┊",
        "555555557000 │ app .rodata                               4K         │",
        "555555555000 │ app .text ░░░░░░░░░░░░░░░░░░░░░░░░░░░     8K         │         12",
        "555555554000 │ app [headers]                             4K         │",
        "             └─ low addresses ──────────────────────────────────────┘",
        "Tab: segments [layout] heatmap   q quit",
    });
}

TEST(RenderDiagram, ALargeTerminalShowsEverySection)
{
    auto lines = memtrace::render_diagram(memtrace::diagram_rows(layout_report()), faults_style(), 120, 0);
    expect_exact_size(lines, 120, 28);
    expect_lines(lines, {
        "       START ┌─ high addresses ─────────────────────────────────────────────────────────────────────────────┐   faults/s",
        "7ffffffdc000 │ stack ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░   140K ↓+12K   │          9",
        "             ┊                                       ╌╌ 127.4M gap ╌╌                                       ┊",
        "7ffff8066000 │ ld-linux-x86-64.so.2 .data                                                       16K         │",
        "             ┊                                         ╌╌ 8K gap ╌╌                                         ┊",
        "7ffff805a000 │ ld-linux-x86-64.so.2 .rodata                                                     40K         │",
        "7ffff8035000 │ ld-linux-x86-64.so.2 .text                                                      148K         │",
        "7ffff8034000 │ ld-linux-x86-64.so.2 [headers]                                                    4K         │",
        "7ffff8032000 │ [vdso] ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░     8K         │          1",
        "7ffff8030000 │ [vvar]                                                                            8K         │",
        "             ┊                                        ╌╌ 32K gap ╌╌                                         ┊",
        "7ffff801b000 │ libc.so.6 .bss ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░    52K         │          1",
        "7ffff8019000 │ libc.so.6 .data ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░     8K         │          2",
        "             ┊                                        ╌╌ 16K gap ╌╌                                         ┊",
        "7ffff7fbd000 │ libc.so.6 .rodata ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░   352K         │          4",
        "7ffff7e28000 │ libc.so.6 .text ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒   1.6M         │        150",
        "7ffff7e00000 │ libc.so.6 .dynsym                                                               160K         │",
        "7ffff7a00000 │ anon ████████████████████████████████████████████████████████████████████████     4M         │     30,000",
        "             ┊                                       ╌╌ 42.7T gap ╌╌                                        ┊",
        "55555555d000 │ heap ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓   264K ↑+132K  │      2,000",
        "             ┊                                         ╌╌ 4K gap ╌╌                                         ┊",
        "55555555a000 │ app .bss ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒     8K         │         40",
        "555555559000 │ app .data ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░     4K         │          3",
        "             ┊                                         ╌╌ 4K gap ╌╌                                         ┊",
        "555555557000 │ app .rodata                                                                       4K         │",
        "555555555000 │ app .text ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░     8K         │         12",
        "555555554000 │ app [headers]                                                                     4K         │",
        "             └─ low addresses ──────────────────────────────────────────────────────────────────────────────┘",
    });
}

TEST(RenderDiagram, ManyRowsAreMergedThenCut)
{
    Report r = layout_report();
    // 60 more libraries, each in 3 sections: far more than 22 lines hold.
    std::vector<LayoutRegion> libraries;
    for (int i = 0; i < 60; ++i)
        for (int part = 0; part < 3; ++part) {
            LayoutRegion region;
            region.start = 0x7ffff0000000 + i * 0x100000 + part * 0x1000;
            region.end = region.start + 0x1000;
            region.object = "lib" + std::to_string(i) + ".so";
            region.label = region.object + (part == 0 ? " .text" : part == 1 ? " .data" : " .bss");
            region.kind = SegmentKind::Section;
            region.interval_faults = i % 7 == 0 ? 5 : 0;
            libraries.push_back(region);
        }
    r.layout.insert(r.layout.begin() + 6, libraries.begin(), libraries.end());
    auto lines = memtrace::render_live_panel(r, {"pid 1234 (app)", ""}, LivePanel::Diagram, 80, 24);
    expect_exact_size(lines, 80, 24);
    EXPECT_EQ(lines[1].rfind("       START ┌─ high addresses ", 0), 0u) << lines[1];
    EXPECT_EQ(lines[2].rfind("7ffffffdc000 │ stack ", 0), 0u) << "the stack on top: " << lines[2];
    EXPECT_EQ(lines[21].rfind("555555554000 │ app [headers]", 0), 0u) << "the program at the bottom: " << lines[21];
    EXPECT_EQ(lines[22].rfind("             └─ low addresses ", 0), 0u) << lines[22];
    size_t cut = 0, quiet = 0;
    for (const std::string& l : lines) {
        cut += l.find("more segments") != std::string::npos;
        quiet += l.find("segments without faults") != std::string::npos;
        EXPECT_EQ(l.find("gap"), std::string::npos) << "no room for gap lines: " << l;
    }
    EXPECT_EQ(cut, 1u) << as_literal(lines);
    EXPECT_GE(quiet, 1u) << "quiet libraries merged: " << as_literal(lines);
    for (const char* kept : {"app .text", "app .data", "app .bss", "heap"}) {
        bool found = false;
        for (const std::string& l : lines)
            found = found || l.find(std::string("│ ") + kept + " ") != std::string::npos;
        EXPECT_TRUE(found) << kept << " is never merged away\n" << as_literal(lines);
    }
}

TEST(RenderDiagram, ResidentShadingAsMemtraceMapsDrawsIt)
{
    std::vector<DiagramRow> rows(3);
    rows[0] = {0x400000, 0x401000, "app .text", "app", 4096, "", true};
    rows[1] = {0x7f0000000000, 0x7f0000001000, "libx.so .data", "libx.so", 0, "", false};
    rows[2] = {0x7f0000001000, 0x7f0000002000, "libx.so .bss", "libx.so", 0, "", false};
    DiagramStyle style;
    style.value_title = "resident";
    style.format_value = [](uint64_t bytes) { return memtrace::human_bytes(bytes); };
    style.quiet = "not resident";
    expect_lines(memtrace::render_diagram(rows, style, 60, 0), {
        "       START ┌─ high addresses ─────────────────┐   resident",
        "7f0000001000 │ libx.so .bss          4K         │",
        "7f0000000000 │ libx.so .data         4K         │",
        "             ┊         ╌╌ 127.0T gap ╌╌         ┊",
        "000000400000 │ app .text ███████     4K         │         4K",
        "             └─ low addresses ──────────────────┘",
    });
    // Three lines of room: the two quiet sections of libx.so become one row.
    auto small = memtrace::render_diagram(rows, style, 60, 5);
    expect_exact_size(small, 60, 5);
    EXPECT_EQ(small[1].rfind("7f0000000000 │ libx.so: 2 segm       8K", 0), 0u) << "cut to the room: " << as_literal(small);
}

TEST(RenderDiagram, HostileLabelsAreEscaped)
{
    std::vector<DiagramRow> rows(1);
    rows[0] = {0x1000, 0x2000, "file /tmp/\x1b]0;owned\x07\x1b[2J", "", 1, "", false};
    for (const std::string& line : memtrace::render_diagram(rows, faults_style(), 80, 5))
        for (unsigned char c : line)
            EXPECT_GE(c, 0x20) << line;
}

TEST(RenderDiagram, EveryPanelHasExactlyTheTerminalsSize)
{
    Report r = layout_report();
    r.segment_heat = heat_fixture();
    for (LivePanel panel : {LivePanel::Segments, LivePanel::Diagram, LivePanel::Heatmap})
        for (auto [w, h] : {std::pair{80, 24}, {200, 60}, {30, 10}, {1, 1}}) {
            SCOPED_TRACE(::testing::Message() << w << "x" << h << " panel " << static_cast<int>(panel));
            expect_exact_size(memtrace::render_live_panel(r, {"pid 1 (x)", ""}, panel, w, h), w, h);
        }
    EXPECT_EQ(memtrace::next_panel(LivePanel::Segments), LivePanel::Diagram);
    EXPECT_EQ(memtrace::next_panel(LivePanel::Diagram), LivePanel::Heatmap);
    EXPECT_EQ(memtrace::next_panel(LivePanel::Heatmap), LivePanel::Segments);
}

TEST(RenderHeatmap, Exact80x24Panel)
{
    Report r;
    r.elapsed_s = 25;
    r.segment_heat = heat_fixture();
    auto lines = memtrace::render_live_panel(r, {"pid 1234 (app)", ""}, LivePanel::Heatmap, 80, 24);
    expect_exact_size(lines, 80, 24);
    expect_lines(lines, {
        "memtrace pid 1234 (app) 25.0s  faults 0 (0/s) major 0 dropped 0",
        "SEGMENT         faults per interval, high addresses on top                  LAST",
        "stack               ░░░                                              ░         1",
        "libc.so.6 .text     ▒▒▒▒░",
        "anon                                    ▒▒▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓█     3,000",
        "heap                     ▓         ▓         ▓         ▓         ▓",
        "app .bss              ▒",
        "                    └ 25.0s ago                                  now ┘",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "Tab: segments layout [heatmap]   q quit",
    });
}

TEST(RenderHeatmap, ALargeTerminalShowsMoreHistory)
{
    SegmentHeat heat = heat_fixture();
    for (SegmentHeat::Band& b : heat.bands)  // 250 intervals: 240 are kept, 133 columns show
        b.faults.insert(b.faults.begin(), 190, 7);
    heat.interval_ends_s.clear();
    for (int i = 1; i <= 240; ++i)
        heat.interval_ends_s.push_back(i * 0.5);
    for (SegmentHeat::Band& b : heat.bands)
        b.faults.erase(b.faults.begin(), b.faults.end() - 240);
    auto lines = memtrace::render_heatmap(heat, 160, 12);
    expect_exact_size(lines, 160, 12);
    expect_lines(lines, {
        "SEGMENT         faults per interval, high addresses on top                                                                                                  LAST",
        "stack           ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░                                              ░         1",
        "libc.so.6 .text ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░▒▒▒▒░",
        "anon            ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░                    ▒▒▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓█     3,000",
        "heap            ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░     ▓         ▓         ▓         ▓         ▓",
        "app .bss        ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░  ▒",
        "                └ 67.0s ago                                                                                                                      now ┘",
        "",
        "",
        "",
        "",
        "",
    });
}

TEST(RenderHeatmap, TooManySegmentsKeepTheBusiest)
{
    SegmentHeat heat;
    heat.interval_ends_s = {1, 2};
    for (int i = 0; i < 30; ++i) {
        SegmentHeat::Band b;
        b.label = "seg" + std::to_string(i);
        b.low = 0x1000 * (i + 1);
        b.faults = {0, static_cast<uint64_t>(i == 7 ? 1000 : i)};
        heat.bands.push_back(b);
    }
    auto lines = memtrace::render_heatmap(heat, 80, 10);
    expect_exact_size(lines, 80, 10);
    // 8 rows: 7 bands (the busiest, highest address on top), then what is left out.
    EXPECT_EQ(lines[1].rfind("seg29 ", 0), 0u) << as_literal(lines);
    EXPECT_EQ(lines[7].rfind("seg7 ", 0), 0u) << as_literal(lines);
    EXPECT_EQ(lines[8], memtrace::fit("… 23 quieter segments", 80));
}

TEST(RenderHeatmap, NothingYet)
{
    auto lines = memtrace::render_heatmap(SegmentHeat{}, 80, 24);
    expect_exact_size(lines, 80, 24);
    EXPECT_EQ(lines[1], memtrace::fit("no faults yet", 80));
}

}  // namespace
