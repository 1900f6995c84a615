// Root tests of --stacks on binaries without frame pointers (tests/workloads/stacks_workload.c and
// its library, built -O2 -fomit-frame-pointer): the frames of known call chains in order, brk and
// mmap calls weighed by the bytes the workload itself measured, faults counted exactly with
// --stack-sample 1 and as scaled estimates by default, truncation said, kernel-mode faults under
// their system call, JIT code named from its perf map, and the same chains as perf's DWARF mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "root_test.h"
#include "subprocess.h"

namespace {

using nlohmann::json;

const std::string kMemtrace = MEMTRACE_BIN;
const std::string kWorkload = STACKS_WORKLOAD_BIN;

// Folded file: stack -> count.
std::map<std::string, uint64_t> read_folded(const std::string& file)
{
    std::map<std::string, uint64_t> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
        size_t space = line.rfind(' ');
        EXPECT_NE(space, std::string::npos) << line;
        if (space != std::string::npos)
            out[line.substr(0, space)] += std::stoull(line.substr(space + 1));
    }
    return out;
}

// Sum over the stacks holding `chain` (";"-joined frames, consecutive); a frame "malloc" stands
// for glibc's names of it (malloc, __libc_malloc, as the symbol table has them).
uint64_t weight_of(const std::map<std::string, uint64_t>& folded, const std::string& chain,
                   const std::string& first_frame = "")
{
    std::string want = ";" + chain + ";";
    uint64_t n = 0;
    for (const auto& [line, count] : folded) {
        if (!first_frame.empty() && line.rfind(first_frame + ";", 0) != 0)
            continue;
        std::string l = ";" + line + ";";
        for (size_t at; (at = l.find(";__libc_malloc;")) != std::string::npos;)
            l.replace(at, 15, ";malloc;");
        if (l.find(want) != std::string::npos)
            n += count;
    }
    return n;
}

std::string dump(const std::map<std::string, uint64_t>& folded)
{
    std::string out;
    for (const auto& [line, count] : folded)
        out += fmt::format("{} {}\n", line, count);
    return out;
}

json last_json_line(const std::string& text)
{
    std::istringstream in(text);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty() && line[0] == '{')
            last = line;
    return last.empty() ? json() : json::parse(last);
}

class StacksTest : public RootTest {
protected:
    struct Run {
        RunResult result;
        json summary;                           // memtrace's
        json workload;                          // what the workload measured
        std::map<std::string, uint64_t> faults, bytes;  // --folded, --folded-bytes
    };
    Run trace(const std::string& mode, std::vector<std::string> options = {"--stack-sample", "1"})
    {
        Run run;
        std::vector<std::string> argv = {kMemtrace, "--json", "--folded", path("faults"), "--folded-bytes",
                                         path("bytes"), "--command-output", path("out")};
        argv.insert(argv.end(), options.begin(), options.end());
        argv.insert(argv.end(), {"--", kWorkload, mode});
        run.result = ::run(argv, 60);
        EXPECT_EQ(run.result.exit_code, 0) << run.result.err;
        run.summary = last_json_line(run.result.out);
        std::ifstream out(path("out"));
        std::stringstream text;
        text << out.rdbuf();
        run.workload = last_json_line(text.str());
        run.faults = read_folded(path("faults"));
        run.bytes = read_folded(path("bytes"));
        return run;
    }
};

TEST_F(StacksTest, BrkStacksWithoutFramePointersReachMainAndWeighTheBytesGrown)
{
    Run r = trace("brk");
    ASSERT_TRUE(r.workload.contains("brk_grown")) << r.result.err;
    const uint64_t grown = r.workload["brk_grown"];
    ASSERT_GE(grown, 32u * 64 * 1024);
    EXPECT_EQ(weight_of(r.bytes, "main;grow_a;grow_b;grow_c;malloc", "brk"), grown) << dump(r.bytes);
    // The summary's top brk stack is that chain, root first (the first malloc's tcache set-up is
    // a stack of its own).
    const json& top = r.summary["stacks"]["brk"].at(0);
    std::vector<std::string> frames = top["frames"];
    auto main_at = std::find(frames.begin(), frames.end(), "main");
    ASSERT_NE(main_at, frames.end()) << top.dump();
    EXPECT_EQ(std::vector<std::string>(main_at, std::min(main_at + 4, frames.end())),
              (std::vector<std::string>{"main", "grow_a", "grow_b", "grow_c"}));
    EXPECT_GE(top["count"].get<uint64_t>(), grown - 2 * 4096);
    EXPECT_GE(top["samples"].get<uint64_t>(), 1u);
}

TEST_F(StacksTest, ThroughALibraryBuiltWithoutFramePointers)
{
    Run r = trace("lib");
    const uint64_t grown = r.workload.value("brk_grown", 0);
    ASSERT_GT(grown, 0u) << r.result.err;
    EXPECT_EQ(weight_of(r.bytes, "main;stacks_lib_grow;lib_allocate;malloc", "brk"), grown) << dump(r.bytes);
}

TEST_F(StacksTest, MmapStacksWeighTheBytesMapped)
{
    Run r = trace("mmap");
    // malloc(8 MiB) maps its size, its chunk header and the page that rounds it up.
    EXPECT_EQ(weight_of(r.bytes, "main;map_a;map_d;malloc", "mmap"), (8u << 20) + 4096) << dump(r.bytes);
    bool found = false;
    for (const json& row : r.summary["stacks"]["mmap"]) {
        std::vector<std::string> frames = row["frames"];
        if (std::find(frames.begin(), frames.end(), "map_d") != frames.end()) {
            found = true;
            EXPECT_EQ(row["samples"], 1) << "one mmap call";
        }
    }
    EXPECT_TRUE(found) << r.summary["stacks"].dump();
}

TEST_F(StacksTest, EveryFaultOfADeepChainWithStackSampleOne)
{
    Run r = trace("deep");
    EXPECT_EQ(weight_of(r.faults,
                        "main;deep_1;deep_2;deep_3;deep_4;deep_5;deep_6;deep_7;deep_8;touch_fresh_pages"),
              256u)
        << dump(r.faults);
    const json& stacks = r.summary["stacks"];
    EXPECT_EQ(stacks["sample_period"], 1);
    EXPECT_EQ(stacks["estimated"], false);
    EXPECT_EQ(stacks["lost"], 0);
    EXPECT_EQ(stacks["fault_samples"], r.summary["faults"]) << "one sample a fault";
}

TEST_F(StacksTest, SampledByDefaultWithScaledEstimates)
{
    Run r = trace("deep", {"--stacks"});
    const json& stacks = r.summary["stacks"];
    const uint64_t period = stacks["sample_period"];
    EXPECT_GT(period, 1u);
    EXPECT_EQ(stacks["estimated"], true);
    uint64_t total = 0;
    for (const auto& [line, count] : r.faults) {
        EXPECT_EQ(count % period, 0u) << line << ": each sample stands for " << period << " faults";
        total += count;
    }
    EXPECT_EQ(total, stacks["fault_samples"].get<uint64_t>() * period);
    // 256 faults in the chain, one in `period` of each CPU's: the chain is there, about right.
    uint64_t chain = weight_of(r.faults, "deep_8;touch_fresh_pages");
    EXPECT_GE(chain, 256u - 2 * period) << dump(r.faults);
    EXPECT_LE(chain, 256u + 2 * period);
    // Text says they are estimates.
    RunResult text = run({kMemtrace, "--text", "--stacks", "--", kWorkload, "deep"}, 60);
    EXPECT_NE(text.out.find(fmt::format("top fault stacks (estimated: 1 fault in {} on each CPU sampled", period)),
              std::string::npos)
        << text.out;
}

TEST_F(StacksTest, DeeperThanTheCopiedStackIsTruncatedAndCounted)
{
    Run r = trace("recurse");
    uint64_t leaf = 0;
    for (const auto& [line, count] : r.faults) {
        if (line.find("touch_fresh_pages") == std::string::npos)
            continue;
        leaf += count;
        EXPECT_EQ(line.rfind("stacks_workload;[truncated];recurse;", 0), 0u) << line;
        EXPECT_EQ(line.find("0x"), std::string::npos) << "no junk frames: " << line;
        EXPECT_EQ(line.find("[unknown]"), std::string::npos) << line;
    }
    EXPECT_EQ(leaf, 64u) << dump(r.faults);
    EXPECT_GE(r.summary["stacks"]["truncated"].get<uint64_t>(), 64u);
    RunResult text = run({kMemtrace, "--text", "--stack-sample", "1", "--", kWorkload, "recurse"}, 60);
    EXPECT_NE(text.out.find("fault stacks are deeper than the copied stack: they start at [truncated]"),
              std::string::npos)
        << text.out;
}

TEST_F(StacksTest, KernelModeFaultsGetTheirSystemCallsStack)
{
    Run r = trace("kread");
    uint64_t under_read = 0;
    for (const auto& [line, count] : r.faults)
        if (line.find(";main;read_a;") != std::string::npos && line.find("read") != std::string::npos)
            under_read += count;
    EXPECT_EQ(under_read, 16u) << dump(r.faults);
}

TEST_F(StacksTest, JitCodeIsNamedFromItsPerfMap)
{
    Run r = trace("jit");
    ASSERT_TRUE(r.workload.contains("perf_map")) << r.result.err;
    std::remove(r.workload["perf_map"].get<std::string>().c_str());
    EXPECT_EQ(weight_of(r.faults, "main;run_jit;jit_caller;jit_touch_pages"), 32u) << dump(r.faults);
    bool site = false;
    for (const json& s : r.summary["sites"])
        if (s["location"].get<std::string>().rfind("jit_touch_pages+0x", 0) == 0) {
            site = true;
            EXPECT_EQ(s["faults"], 32) << s.dump();
        }
    EXPECT_TRUE(site) << r.summary["sites"].dump(1);
}

// perf's DWARF unwinding of the same faults: the same chain from main to the faulting function.
// perf may lose samples here (its ring fills with 8 KiB stack copies: "lost N chunks"), so the
// chains are compared, and its count only bounded; memtrace's count is exact.
TEST_F(StacksTest, SameChainsAsPerfCallGraphDwarf)
{
    std::string data = path("perf.data");
    RunResult rec = run({"perf", "record", "-q", "-e", "page-faults", "-c", "1", "--call-graph", "dwarf", "-o", data,
                         "--", kWorkload, "deep"},
                        120);
    ASSERT_EQ(rec.exit_code, 0) << "perf (Debian's linux-perf) is the reference here: " << rec.err;
    RunResult script = run({"perf", "script", "-i", data, "-F", "ip,sym", "--no-inline"}, 120);
    ASSERT_EQ(script.exit_code, 0) << script.err;
    // Samples are separated by blank lines; frames "ADDRESS SYMBOL", leaf first, one a line.
    std::map<std::string, uint64_t> perf_chains;
    std::vector<std::string> frames;
    auto end_sample = [&] {
        if (!frames.empty() && frames.front() == "touch_fresh_pages") {
            std::string chain;
            for (auto it = frames.rbegin(); it != frames.rend(); ++it)
                chain += (chain.empty() ? "" : ";") + *it;
            size_t main_at = chain.find(";main;");
            perf_chains[main_at == std::string::npos ? chain : chain.substr(main_at + 1)]++;
        }
        frames.clear();
    };
    std::istringstream in(script.out);
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string address, symbol;
        if (!(fields >> address)) {
            end_sample();
            continue;
        }
        std::getline(fields >> std::ws, symbol);
        frames.push_back(symbol);
    }
    end_sample();
    ASSERT_FALSE(perf_chains.empty()) << script.out.substr(0, 2000);

    Run r = trace("deep");
    std::map<std::string, uint64_t> ours;
    const std::string leaf = ";touch_fresh_pages";
    for (const auto& [line, count] : r.faults) {
        if (line.size() < leaf.size() || line.compare(line.size() - leaf.size(), leaf.size(), leaf) != 0)
            continue;
        size_t main_at = line.find(";main;");
        ours[main_at == std::string::npos ? line : line.substr(main_at + 1)] += count;
    }
    std::vector<std::string> our_chains, their_chains;
    uint64_t perf_samples = 0;
    for (const auto& [chain, n] : ours)
        our_chains.push_back(chain);
    for (const auto& [chain, n] : perf_chains) {
        their_chains.push_back(chain);
        perf_samples += n;
    }
    EXPECT_EQ(our_chains, their_chains) << "memtrace:\n" << dump(ours) << "perf:\n" << dump(perf_chains);
    EXPECT_EQ(ours.begin()->second, 256u);
    EXPECT_LE(perf_samples, 256u);
    std::printf("perf --call-graph dwarf: %llu of the 256 faults in the chain (memtrace: %llu)\n",
                static_cast<unsigned long long>(perf_samples), static_cast<unsigned long long>(ours.begin()->second));
}

// The flame graphs memtrace writes, loaded in headless Chromium: three graphs in one SVG (faults,
// brk bytes, mmap bytes), each drawn and zoomed on its own.
TEST_F(StacksTest, FlameGraphSvgLoadsAndZoomsInChromium)
{
    std::string svg = path("flame.svg");
    RunResult r = run({kMemtrace, "--text", "--stack-sample", "1", "--flamegraph", svg, "--command-output", path("out"),
                       "--", kWorkload, "brk"},
                      60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("wrote the flame graphs to " + svg), std::string::npos) << r.err;
    const std::string graphs = "Array.from(document.querySelectorAll('svg.memtrace-flamegraph'))";
    const std::string frame = "((i, name) => Array.from(" + graphs +
                              "[i].querySelectorAll('g.f')).find((g) => g.querySelector('title').textContent."
                              "split('\\n')[0] === name))";
    RunResult page = run({"node", MEMTRACE_PAGE_CHECK, svg, "--viewport", "1280x900", "--timeout-ms", "60000",
                          "--assert", graphs + ".length === 3",
                          "--assert", graphs + ".every((g) => g.memtraceFlameGraph && g.querySelectorAll('g.f').length > 3)",
                          "--assert", graphs + "[0].querySelector('.title').textContent.startsWith('Page faults')",
                          "--assert", graphs + "[1].querySelector('.title').textContent.startsWith('Heap grown by brk')",
                          "--assert", graphs + "[2].querySelector('.title').textContent.startsWith('Memory mapped by mmap')",
                          "--assert", frame + "(1, 'grow_c') !== undefined",
                          "--click", frame + "(1, 'grow_c')",
                          "--assert", graphs + "[1].memtraceFlameGraph.zoomedFrame() >= 0",
                          "--assert", graphs + "[0].memtraceFlameGraph.zoomedFrame() === -1 && " + graphs +
                              "[2].memtraceFlameGraph.zoomedFrame() === -1",
                          "--screenshot", path("flame.png")},
                         120);
    if (page.exit_code == 127 || page.err.find("ENOENT") != std::string::npos)
        FAIL() << "node and chromium run the browser tests (scripts/setup.sh installs them): " << page.err;
    EXPECT_EQ(page.exit_code, 0) << page.out << page.err;
}

}  // namespace
