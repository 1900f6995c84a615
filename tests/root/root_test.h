// The fixture every root test starts from: skips when BPF cannot run here (fails instead with
// CI=true), and gives each test a scratch directory that is removed afterwards.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "subprocess.h"

class RootTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string why;
        if (!bpf_tests_can_run(why)) {
            const char* ci = std::getenv("CI");
            if (ci && std::string(ci) == "true")
                FAIL() << "BPF test cannot run in CI: " << why;
            GTEST_SKIP() << why;
        }
        char tmpl[] = "/tmp/memtrace-root-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override
    {
        if (!dir_.empty())
            std::system(fmt::format("rm -rf '{}'", dir_).c_str());
    }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    std::string dir_;
};

// "1,234,567" as memtrace prints counts -> 1234567.
inline uint64_t plain(const std::string& with_commas)
{
    std::string s;
    for (char c : with_commas)
        if (c != ',')
            s += c;
    return std::stoull(s);
}
