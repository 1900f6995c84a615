// The static layout (`memtrace maps`): rows split by segment, residency, text and JSON output.
#include "model/layout.h"

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

using memtrace::AddressSpace;
using memtrace::LayoutRow;
using memtrace::SegmentTable;
using memtrace_test::FakeSource;
using memtrace_test::find_section;
using memtrace_test::maps_for_image;
using memtrace_test::maps_from_text;

namespace {

const char* const kMaps =
    "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
    "7f0000100000-7f0000101000 r--p 00000000 08:01 5                          /srv/data.bin\n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";

// Half of every range is resident, except the heap, whose residency is unknown.
bool fake_probe(uint64_t start, uint64_t end, uint64_t& resident)
{
    if (start == 0x555555559000)
        return false;
    resident = (end - start) / 2;
    return true;
}

class LayoutTest : public ::testing::Test {
protected:
    FakeSource source;
    SegmentTable segments;
    AddressSpace space{segments, source.objects};
};

TEST_F(LayoutTest, OneRowPerPlainRegion)
{
    space.load_snapshot(maps_from_text(kMaps), 0, 8 << 20);
    std::vector<LayoutRow> rows = memtrace::build_layout(space, segments, fake_probe);
    ASSERT_EQ(rows.size(), 4u);

    EXPECT_EQ(rows[0].start, 0x555555559000u);
    EXPECT_EQ(rows[0].end, 0x55555557a000u);
    EXPECT_EQ(rows[0].perms, "rw-p");
    EXPECT_EQ(rows[0].segment, "heap");
    EXPECT_EQ(rows[0].mapping, "[heap]");
    EXPECT_FALSE(rows[0].resident_known);
    EXPECT_EQ(rows[0].resident_bytes, 0u);

    EXPECT_EQ(rows[1].segment, "anon");
    EXPECT_EQ(rows[1].mapping, "[anon]");
    EXPECT_TRUE(rows[1].resident_known);
    EXPECT_EQ(rows[1].resident_bytes, 0x80000u);

    EXPECT_EQ(rows[2].perms, "r--p");
    EXPECT_EQ(rows[2].segment, "file /srv/data.bin");
    EXPECT_EQ(rows[2].mapping, "/srv/data.bin");
    EXPECT_EQ(rows[2].resident_bytes, 0x800u);

    EXPECT_EQ(rows[3].segment, "stack");
    EXPECT_EQ(rows[3].mapping, "[stack]");
    EXPECT_EQ(rows[3].start, 0x7ffffffde000u);
    EXPECT_EQ(rows[3].end, 0x7ffffffff000u);
}

TEST_F(LayoutTest, WithoutAProbeResidencyIsUnknown)
{
    space.load_snapshot(maps_from_text(kMaps), 0, 8 << 20);
    std::vector<LayoutRow> rows = memtrace::build_layout(space, segments, nullptr);
    ASSERT_EQ(rows.size(), 4u);
    for (const LayoutRow& r : rows)
        EXPECT_FALSE(r.resident_known);
}

TEST_F(LayoutTest, RenderText)
{
    space.load_snapshot(maps_from_text(kMaps), 0, 8 << 20);
    std::ostringstream out;
    memtrace::render_layout_text(out, memtrace::build_layout(space, segments, fake_probe));
    EXPECT_EQ(out.str(),
              "START            END                  SIZE      RSS PERM  SEGMENT             MAPPING\n"
              "0000555555559000 000055555557a000     132K        ? rw-p  heap                [heap]\n"
              "00007f0000000000 00007f0000100000       1M     512K rw-p  anon                [anon]\n"
              "00007f0000100000 00007f0000101000       4K       2K r--p  file /srv/data.bin  /srv/data.bin\n"
              "00007ffffffde000 00007ffffffff000     132K      66K rw-p  stack               [stack]\n"
              "total                                 1.3M     580K\n");
}

TEST_F(LayoutTest, RenderTextHeaderOfAnEmptyLayout)
{
    std::ostringstream out;
    memtrace::render_layout_text(out, {});
    EXPECT_EQ(out.str(),
              "START            END                  SIZE      RSS PERM  SEGMENT  MAPPING\n"
              "total                                    0        0\n");
}

TEST_F(LayoutTest, RenderJson)
{
    space.load_snapshot(maps_from_text(kMaps), 0, 8 << 20);
    std::ostringstream out;
    memtrace::render_layout_json(out, memtrace::build_layout(space, segments, fake_probe));
    nlohmann::json j = nlohmann::json::parse(out.str());
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 4u);
    EXPECT_EQ(j[0], nlohmann::json::parse(R"({"start": 93824992251904, "end": 93824992387072, "size": 135168,
                                              "perms": "rw-p", "segment": "heap", "mapping": "[heap]",
                                              "resident": null})"));
    EXPECT_EQ(j[2]["segment"], "file /srv/data.bin");
    EXPECT_EQ(j[2]["resident"], 2048);
    EXPECT_EQ(j[3]["size"], 0x21000);
}

TEST_F(LayoutTest, ElfRegionsSplitBySections)
{
    auto image = memtrace::ElfImage::load(MEMTRACE_ELF_PIE);
    ASSERT_NE(image, nullptr);
    source.add_image(MEMTRACE_ELF_PIE, image);
    const uint64_t base = 0x555555550000;
    space.load_snapshot(maps_from_text(maps_for_image(*image, base, MEMTRACE_ELF_PIE)), 0, 8 << 20);
    std::vector<std::pair<uint64_t, uint64_t>> probed;
    auto probe = [&](uint64_t start, uint64_t end, uint64_t& resident) {
        probed.emplace_back(start, end);
        resident = end - start;
        return true;
    };
    std::vector<LayoutRow> rows = memtrace::build_layout(space, segments, probe);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(probed.size(), rows.size()) << "one probe per row";

    // Rows tile every region exactly, in address order, none empty.
    uint64_t covered = 0, mapped = 0;
    for (const auto& [start, r] : space.regions())
        mapped += r.end - r.start;
    for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_LT(rows[i].start, rows[i].end) << i;
        if (i) {
            EXPECT_LE(rows[i - 1].end, rows[i].start) << i;
        }
        covered += rows[i].end - rows[i].start;
        // Every row is part of the executable; only its .bss tail is anonymous memory.
        EXPECT_EQ(rows[i].segment.rfind("elf_fixture_pie ", 0), 0u) << rows[i].segment;
        if (rows[i].mapping == "[anon]") {
            EXPECT_EQ(rows[i].segment, "elf_fixture_pie .bss");
        } else {
            EXPECT_EQ(rows[i].mapping, MEMTRACE_ELF_PIE) << rows[i].segment;
        }
    }
    EXPECT_EQ(covered, mapped);

    auto row_at = [&](uint64_t addr) -> const LayoutRow* {
        for (const LayoutRow& r : rows)
            if (addr >= r.start && addr < r.end)
                return &r;
        return nullptr;
    };
    auto section_addr = [&](const char* name) { return base + find_section(*image, name)->addr; };

    const LayoutRow* text = row_at(section_addr(".text"));
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(text->segment, "elf_fixture_pie .text");
    EXPECT_EQ(text->perms, "r-xp");
    EXPECT_LE(text->start, section_addr(".text"));
    EXPECT_GE(text->end, section_addr(".text") + find_section(*image, ".text")->size);

    const LayoutRow* header = row_at(base);
    ASSERT_NE(header, nullptr);
    EXPECT_EQ(header->segment, "elf_fixture_pie [headers]");
    EXPECT_EQ(header->start, base);
    EXPECT_EQ(header->end, section_addr(".interp")) << "the ELF header up to the first section";

    EXPECT_EQ(row_at(section_addr(".rodata"))->segment, "elf_fixture_pie .rodata");
    EXPECT_EQ(row_at(section_addr(".data"))->segment, "elf_fixture_pie .data");
    EXPECT_EQ(row_at(section_addr(".got"))->segment, "elf_fixture_pie .got");
    const LayoutRow* bss_tail = row_at(section_addr(".bss") + 0x80000);
    ASSERT_NE(bss_tail, nullptr);
    EXPECT_EQ(bss_tail->segment, "elf_fixture_pie .bss");
    EXPECT_EQ(bss_tail->mapping, "[anon]");
    EXPECT_EQ(bss_tail->perms, "rw-p");
}

TEST_F(LayoutTest, RegionsSplitByMprotectStillTileWithoutOverlap)
{
    auto image = memtrace::ElfImage::load(MEMTRACE_ELF_PIE);
    ASSERT_NE(image, nullptr);
    source.add_image(MEMTRACE_ELF_PIE, image);
    const uint64_t base = 0x555555550000;
    space.load_snapshot(maps_from_text(maps_for_image(*image, base, MEMTRACE_ELF_PIE)), 0, 8 << 20);
    // Every page of the writable file mapping and of the .bss tail its own region (as RELRO and
    // guard pages split them): section groups then reach past the regions they start in.
    const uint64_t data = (base + find_section(*image, ".data")->addr) & ~0xfffULL;
    for (uint64_t page = data - 0x2000; page < data + 0x6000; page += 0x1000)
        space.protect(page, 0x1000, page % 0x2000 ? 1 : 3);
    std::vector<LayoutRow> rows = memtrace::build_layout(space, segments, nullptr);
    uint64_t covered = 0, mapped = 0;
    for (const auto& [start, r] : space.regions())
        mapped += r.end - r.start;
    for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_LT(rows[i].start, rows[i].end) << i;
        if (i) {
            EXPECT_LE(rows[i - 1].end, rows[i].start) << i << " " << rows[i].segment;
        }
        covered += rows[i].end - rows[i].start;
    }
    EXPECT_EQ(covered, mapped) << "each address in exactly one row";
}

}  // namespace
