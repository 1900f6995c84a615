// Trace files: what the writer puts in reads back record for record; every way a file can be
// wrong (cut short, damaged, empty, foreign, of a later version, absurd sizes) gives the records
// before the problem and one line naming it; the writer refuses to overwrite and reports a full disk.
#include "stream/trace_reader.h"
#include "stream/trace_writer.h"

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "stream/record_builder.h"
#include "stream/trace_file.h"
#include "test_support.h"

namespace {

using memtrace::TraceReader;
using memtrace::TraceWriter;

class TraceFileTest : public ::testing::Test {
protected:
    TraceFileTest()
    {
        char tmpl[] = "/tmp/memtrace-trace-XXXXXX";
        dir_ = mkdtemp(tmpl);
        path_ = dir_ + "/t.data";
    }
    ~TraceFileTest() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

    // `n` records of growing sizes, each filled with a pattern of its index.
    static std::vector<std::vector<unsigned char>> records(size_t n)
    {
        std::vector<std::vector<unsigned char>> out;
        for (size_t i = 0; i < n; ++i) {
            std::vector<unsigned char> r(24 + i % 200, static_cast<unsigned char>(i));
            std::memcpy(r.data(), &i, sizeof(i));
            out.push_back(std::move(r));
        }
        return out;
    }
    void write(const std::vector<std::vector<unsigned char>>& recs, bool finish = true)
    {
        TraceWriter w(path_, true, {{"test", "yes"}});
        for (const auto& r : recs)
            w.record(r.data(), r.size());
        if (finish)
            w.finish();
    }
    static std::vector<std::vector<unsigned char>> read_all(TraceReader& reader, TraceReader::Ending& ending)
    {
        std::vector<std::vector<unsigned char>> got;
        ending = reader.read([&](const void* d, size_t n) {
            const auto* p = static_cast<const unsigned char*>(d);
            got.emplace_back(p, p + n);
        });
        return got;
    }
    std::string bytes() const { return memtrace_test::read_file(path_); }
    void put(const std::string& contents) const
    {
        FILE* f = std::fopen(path_.c_str(), "wb");
        std::fwrite(contents.data(), 1, contents.size(), f);
        std::fclose(f);
    }

    std::string dir_, path_;
};

TEST_F(TraceFileTest, RecordsReadBackInOrder)
{
    auto recs = records(30000);  // several blocks
    write(recs);
    TraceReader reader(path_);
    EXPECT_EQ(reader.meta()["test"], "yes");
    EXPECT_EQ(reader.meta()["format"], "memtrace trace");
    EXPECT_EQ(reader.meta()["version"], 1);
    EXPECT_EQ(reader.meta()["record_types"]["1"]["name"], "fault");
    EXPECT_EQ(reader.meta()["record_types"]["1"]["size"], sizeof(mt_fault));
    EXPECT_EQ(reader.meta()["record_types"]["72"]["name"], "tick");
    TraceReader::Ending ending;
    EXPECT_EQ(read_all(reader, ending), recs);
    EXPECT_TRUE(ending.complete);
    EXPECT_TRUE(ending.problem.empty());
    EXPECT_EQ(ending.records, recs.size());
}

TEST_F(TraceFileTest, AnEmptyTraceIsComplete)
{
    write({});
    TraceReader reader(path_);
    TraceReader::Ending ending;
    EXPECT_TRUE(read_all(reader, ending).empty());
    EXPECT_TRUE(ending.complete);
}

TEST_F(TraceFileTest, NeverOverwritesUnlessForced)
{
    put("precious");
    EXPECT_THROW(TraceWriter(path_, false, {}), std::runtime_error);
    EXPECT_EQ(bytes(), "precious");
    try {
        TraceWriter w(path_, false, {});
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("exists (--force overwrites it)"), std::string::npos) << e.what();
    }
    TraceWriter(path_, true, {}).finish();
    EXPECT_NE(bytes(), "precious");
}

TEST_F(TraceFileTest, RefusesASymlinkEvenWithForce)
{
    ASSERT_EQ(symlink("/etc/passwd", path_.c_str()), 0);
    EXPECT_THROW(TraceWriter(path_, true, {}), std::runtime_error);
}

TEST_F(TraceFileTest, AFullDiskIsAnError)
{
    // /dev/full takes the open and fails every write with ENOSPC.
    try {
        TraceWriter w("/dev/full", true, {});
        auto recs = records(5000);
        for (const auto& r : recs)
            w.record(r.data(), r.size());
        w.finish();
        FAIL() << "no error on a full disk";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
    }
}

TEST_F(TraceFileTest, WithoutFinishItReadsAsCutShort)
{
    auto recs = records(100);
    write(recs, false);
    TraceReader reader(path_);
    TraceReader::Ending ending;
    EXPECT_EQ(read_all(reader, ending), recs) << "what was buffered is written at destruction";
    EXPECT_FALSE(ending.complete);
    EXPECT_NE(ending.problem.find("without its END block"), std::string::npos) << ending.problem;
}

TEST_F(TraceFileTest, CutAnywhereGivesThePrefixOfWholeBlocks)
{
    auto recs = records(30000);
    write(recs);
    const std::string whole = bytes();
    memtrace::TraceBlockHeader meta{};
    std::memcpy(&meta, whole.data() + sizeof(memtrace::TraceFileHeader), sizeof(meta));
    const size_t records_at = sizeof(memtrace::TraceFileHeader) + sizeof(meta) + meta.stored_size;
    // Cut inside the description: the file cannot be read at all (one line, at open).
    put(whole.substr(0, records_at - 1));
    EXPECT_THROW(TraceReader reader(path_), std::runtime_error);
    size_t blocks_seen = 0, last = 0;
    for (size_t cut = records_at; cut < whole.size(); cut += whole.size() / 97) {
        put(whole.substr(0, cut));
        TraceReader reader(path_);
        TraceReader::Ending ending;
        auto got = read_all(reader, ending);
        EXPECT_FALSE(ending.complete) << cut;
        EXPECT_FALSE(ending.problem.empty()) << cut;
        ASSERT_LE(got.size(), recs.size());
        EXPECT_TRUE(std::equal(got.begin(), got.end(), recs.begin())) << "a prefix, cut at " << cut;
        EXPECT_GE(got.size(), last) << "more file, never fewer records";
        blocks_seen += got.size() > last;
        last = got.size();
    }
    EXPECT_GT(blocks_seen, 2u);
}

TEST_F(TraceFileTest, ADamagedBlockStopsThereWithItsOffset)
{
    auto recs = records(30000);
    write(recs);
    std::string damaged = bytes();
    damaged[damaged.size() / 2] ^= 0x40;
    put(damaged);
    TraceReader reader(path_);
    TraceReader::Ending ending;
    auto got = read_all(reader, ending);
    EXPECT_FALSE(ending.complete);
    EXPECT_NE(ending.problem.find("damaged block at offset"), std::string::npos) << ending.problem;
    EXPECT_NE(ending.problem.find("checksum"), std::string::npos) << ending.problem;
    EXPECT_LT(got.size(), recs.size());
    EXPECT_GT(got.size(), 0u);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), recs.begin()));
}

TEST_F(TraceFileTest, AbsurdSizesAreDamageNotAllocations)
{
    write(records(10));
    std::string b = bytes();
    // The first block after the file header is META; the second is the records block.
    size_t meta_at = sizeof(memtrace::TraceFileHeader);
    memtrace::TraceBlockHeader meta{};
    std::memcpy(&meta, b.data() + meta_at, sizeof(meta));
    size_t records_at = meta_at + sizeof(meta) + meta.stored_size;
    memtrace::TraceBlockHeader h{};
    std::memcpy(&h, b.data() + records_at, sizeof(h));
    h.raw_size = 0xffffffff;
    std::memcpy(&b[records_at], &h, sizeof(h));
    put(b);
    TraceReader reader(path_);
    TraceReader::Ending ending;
    EXPECT_TRUE(read_all(reader, ending).empty());
    EXPECT_NE(ending.problem.find("absurd sizes"), std::string::npos) << ending.problem;
}

TEST_F(TraceFileTest, ForeignEmptyAndFutureFilesAreOneLineErrors)
{
    auto error_of = [&](const std::string& contents) {
        put(contents);
        try {
            TraceReader reader(path_);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(error_of("").find("is empty: not a memtrace trace"), std::string::npos);
    EXPECT_NE(error_of("#!/bin/sh\necho hello\n" + std::string(64, 'x')).find("is not a memtrace trace"),
              std::string::npos);
    EXPECT_NE(error_of("MEMTR").find("too short for its header"), std::string::npos);
    write({});
    std::string future = bytes();
    future[8] = 7;  // version 7
    std::string e = error_of(future);
    EXPECT_NE(e.find("format version 7"), std::string::npos) << e;
    EXPECT_NE(e.find("reads version 1"), std::string::npos) << e;
    for (const std::string& msg : {error_of(""), e})
        EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    EXPECT_THROW(TraceReader("/nonexistent/trace"), std::runtime_error);
    EXPECT_THROW(TraceReader("/dev/null"), std::runtime_error) << "not a regular file";
}

TEST(ObjectRecord, LayoutRoundTrips)
{
    auto image = memtrace::ElfImage::load(MEMTRACE_ELF_PIE);
    ASSERT_NE(image, nullptr);
    memtrace::ObjectInfo info;
    info.dev = memtrace::kernel_dev(0xfe, 1);
    info.ino = 4242;
    info.size = 12345;
    info.mtime_ns = 1700000000123456789ULL;
    info.path = "/opt/app/bin/elf_fixture_pie";
    info.elf = image;
    memtrace::RecordBytes bytes = memtrace::object_record(7, info);
    auto record = memtrace::decode_record(bytes.data(), bytes.size());
    ASSERT_TRUE(record);
    memtrace::ObjectInfo back = memtrace::object_of(*record);
    EXPECT_EQ(back.dev, info.dev);
    EXPECT_EQ(back.ino, info.ino);
    EXPECT_EQ(back.size, info.size);
    EXPECT_EQ(back.mtime_ns, info.mtime_ns);
    EXPECT_EQ(back.path, info.path);
    ASSERT_NE(back.elf, nullptr);
    EXPECT_EQ(back.elf->build_id(), image->build_id());
    EXPECT_EQ(back.elf->position_independent(), image->position_independent());
    ASSERT_EQ(back.elf->loads().size(), image->loads().size());
    for (size_t i = 0; i < image->loads().size(); ++i) {
        EXPECT_EQ(back.elf->loads()[i].vaddr, image->loads()[i].vaddr);
        EXPECT_EQ(back.elf->loads()[i].memsz, image->loads()[i].memsz);
        EXPECT_EQ(back.elf->loads()[i].writable, image->loads()[i].writable);
    }
    ASSERT_EQ(back.elf->sections().size(), image->sections().size());
    for (size_t i = 0; i < image->sections().size(); ++i) {
        EXPECT_EQ(back.elf->sections()[i].name, image->sections()[i].name);
        EXPECT_EQ(back.elf->sections()[i].addr, image->sections()[i].addr);
        EXPECT_EQ(back.elf->sections()[i].size, image->sections()[i].size);
        EXPECT_EQ(back.elf->sections()[i].nobits, image->sections()[i].nobits);
    }
    // Any cut of it is refused, never read past.
    for (size_t n = 0; n < bytes.size(); ++n)
        EXPECT_FALSE(memtrace::decode_record(bytes.data(), n)) << n;
}

}  // namespace
