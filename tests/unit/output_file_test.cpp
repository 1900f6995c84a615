// open_output_file: what memtrace, running as root, agrees to write to.
#include "output/output_file.h"

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <future>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_support.h"

using memtrace::open_output_file;
using memtrace_test::read_file;

namespace {

class OutputFileTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/memtrace-output-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { std::system(("rm -rf '" + dir + "'").c_str()); }
    std::string at(const char* name) const { return dir + "/" + name; }
    static void write_text(const std::string& path, const std::string& text)
    {
        int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
        close(fd);
    }
    static void write_fd(int fd, const std::string& text)
    {
        ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    }
    // The error open_output_file throws for `path`, or "" when it opens it.
    static std::string refusal(const std::string& path, bool append = false)
    {
        try {
            int fd = open_output_file(path, append);
            close(fd);
            return "";
        } catch (const std::runtime_error& e) {
            return e.what();
        }
    }
    static bool exists(const std::string& path)
    {
        struct stat st {};
        return lstat(path.c_str(), &st) == 0;
    }

    std::string dir;
};

TEST_F(OutputFileTest, RefusesASymlinkToAnExistingFile)
{
    write_text(at("target"), "keep me\n");
    ASSERT_EQ(symlink(at("target").c_str(), at("link").c_str()), 0);
    std::string why = refusal(at("link"));
    EXPECT_EQ(why, "cannot write " + at("link") + ": it is a symbolic link (not followed, for safety)");
    EXPECT_EQ(read_file(at("target")), "keep me\n") << "not truncated through the link";
    why = refusal(at("link"), true);
    EXPECT_NE(why.find("symbolic link"), std::string::npos) << why;
    EXPECT_EQ(read_file(at("target")), "keep me\n");
}

TEST_F(OutputFileTest, RefusesADanglingSymlinkWithoutCreatingItsTarget)
{
    ASSERT_EQ(symlink(at("nothere").c_str(), at("dangling").c_str()), 0);
    std::string why = refusal(at("dangling"));
    EXPECT_NE(why.find("symbolic link"), std::string::npos) << why;
    EXPECT_FALSE(exists(at("nothere"))) << "the link's target must not be created";
}

TEST_F(OutputFileTest, RefusesAFifoWithoutBlocking)
{
    ASSERT_EQ(mkfifo(at("fifo").c_str(), 0600), 0);
    // Run it on a thread: if it blocks on the FIFO, fail instead of hanging the test run (the
    // thread is left blocked in open() until the process ends).
    auto done = std::make_shared<std::promise<std::string>>();
    std::future<std::string> why = done->get_future();
    std::string path = at("fifo");
    std::thread([done, path] { done->set_value(refusal(path)); }).detach();
    ASSERT_EQ(why.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "open blocked on a FIFO";
    std::string text = why.get();
    EXPECT_EQ(text.rfind("cannot write " + path + ": ", 0), 0u) << text;
}

TEST_F(OutputFileTest, RefusesAFifoThatHasAReader)
{
    ASSERT_EQ(mkfifo(at("fifo").c_str(), 0600), 0);
    int reader = open(at("fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(reader, 0);
    EXPECT_EQ(refusal(at("fifo")), "cannot write " + at("fifo") + ": not a regular file");
    close(reader);
}

TEST_F(OutputFileTest, RefusesADirectory)
{
    std::string why = refusal(dir);
    EXPECT_EQ(why.rfind("cannot write " + dir + ": ", 0), 0u) << why;
    EXPECT_NE(why, "") << "a directory is no output file";
}

TEST_F(OutputFileTest, RefusesAPathInAMissingDirectory)
{
    std::string why = refusal(at("missing/out.txt"));
    EXPECT_EQ(why, "cannot write " + at("missing/out.txt") + ": No such file or directory");
}

TEST_F(OutputFileTest, AcceptsDevNull)
{
    int fd = open_output_file("/dev/null");
    ASSERT_GE(fd, 0);
    write_fd(fd, "discarded");
    close(fd);
    fd = open_output_file("/dev/null", true);
    ASSERT_GE(fd, 0);
    close(fd);
}

TEST_F(OutputFileTest, TruncatesARegularFile)
{
    write_text(at("out.txt"), "old content that is long\n");
    int fd = open_output_file(at("out.txt"));
    ASSERT_GE(fd, 0);
    write_fd(fd, "new\n");
    close(fd);
    EXPECT_EQ(read_file(at("out.txt")), "new\n");
}

TEST_F(OutputFileTest, AppendsToARegularFile)
{
    write_text(at("out.txt"), "old\n");
    int fd = open_output_file(at("out.txt"), true);
    ASSERT_GE(fd, 0);
    write_fd(fd, "more\n");
    close(fd);
    EXPECT_EQ(read_file(at("out.txt")), "old\nmore\n");
}

TEST_F(OutputFileTest, DescriptorIsCloseOnExecAndBlocking)
{
    int fd = open_output_file(at("out.txt"));
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    EXPECT_FALSE(fcntl(fd, F_GETFL) & O_NONBLOCK) << "O_NONBLOCK is only for the open";
    EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
    close(fd);
}

TEST_F(OutputFileTest, CreatesWithTheUmask)
{
    mode_t old = umask(077);
    int fd = -1;
    try {
        fd = open_output_file(at("private.txt"));
    } catch (...) {
    }
    umask(022);
    int fd2 = -1;
    try {
        fd2 = open_output_file(at("shared.txt"));
    } catch (...) {
    }
    umask(old);
    ASSERT_GE(fd, 0);
    ASSERT_GE(fd2, 0);
    close(fd);
    close(fd2);
    struct stat st {};
    ASSERT_EQ(stat(at("private.txt").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    ASSERT_EQ(stat(at("shared.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
}

}  // namespace
