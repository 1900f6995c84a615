// Folded stacks output: sorted "stack count" lines, the line count returned, write errors thrown.
#include "output/folded.h"

#include <cstdlib>
#include <fcntl.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace {

// A temporary file, removed at the end.
class TempFile {
public:
    TempFile()
    {
        char tmpl[] = "/tmp/memtrace-folded-XXXXXX";
        fd_ = mkstemp(tmpl);
        if (fd_ < 0)
            throw std::runtime_error("mkstemp");
        path_ = tmpl;
    }
    ~TempFile()
    {
        if (fd_ >= 0)
            close(fd_);
        unlink(path_.c_str());
    }
    int fd() const { return fd_; }
    const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

TEST(WriteFolded, SortedLinesWithCounts)
{
    TempFile file;
    std::unordered_map<std::string, uint64_t> stacks = {
        {"app;main;work;memset", 120},
        {"app;[no_user_stack]", 3},
        {"app;main;grow", 7},
        {"bash;[bash]", 1},
    };
    EXPECT_EQ(memtrace::write_folded(file.fd(), stacks), 4u);
    EXPECT_EQ(memtrace_test::read_file(file.path()),
              "app;[no_user_stack] 3\n"
              "app;main;grow 7\n"
              "app;main;work;memset 120\n"
              "bash;[bash] 1\n");
}

TEST(WriteFolded, EmptyWritesNothing)
{
    TempFile file;
    EXPECT_EQ(memtrace::write_folded(file.fd(), {}), 0u);
    EXPECT_EQ(memtrace_test::read_file(file.path()), "");
}

TEST(WriteFolded, LargeOutputParsesBackToTheSameCounts)
{
    // Well over the 64 KiB the writer buffers, so it flushes several times.
    TempFile file;
    std::unordered_map<std::string, uint64_t> stacks;
    uint64_t total = 0;
    for (uint64_t i = 0; i < 5000; ++i) {
        std::string line = "proc;main;frame_" + std::to_string(i % 97) + ";leaf_" + std::to_string(i);
        stacks[line] = i + 1;
        total += i + 1;
    }
    EXPECT_EQ(memtrace::write_folded(file.fd(), stacks), 5000u);
    std::vector<std::string> lines = lines_of(memtrace_test::read_file(file.path()));
    ASSERT_EQ(lines.size(), 5000u);
    uint64_t sum = 0;
    std::string previous;
    for (const std::string& line : lines) {
        size_t space = line.rfind(' ');
        ASSERT_NE(space, std::string::npos) << line;
        std::string stack = line.substr(0, space);
        uint64_t count = std::stoull(line.substr(space + 1));
        ASSERT_EQ(stacks.count(stack), 1u) << stack;
        EXPECT_EQ(stacks.at(stack), count) << stack;
        EXPECT_LT(previous, stack) << "sorted";
        previous = stack;
        sum += count;
    }
    EXPECT_EQ(sum, total);
}

TEST(WriteFolded, WriteErrorThrows)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    try {
        memtrace::write_folded(fd, {{"app;main", 1}});
        ADD_FAILURE() << "a write to a read-only descriptor must throw";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("writing folded stacks: ", 0), 0u) << e.what();
    }
    close(fd);
}

}  // namespace
