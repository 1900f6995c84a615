#include "analysis/stack_counts.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "model/process_table.h"

namespace memtrace {
namespace {

constexpr size_t kMaxFoldedStacks = 1 << 17;
constexpr size_t kMaxCached = 1 << 16;
constexpr size_t kMaxFrames = 127;

// Folded stacks separate frames with ';' and lines with '\n': keep both out of names.
std::string folded_name(std::string s)
{
    for (char& c : s)
        if (c == ';' || c == '\n' || c == '\r')
            c = '_';
    return s;
}

std::vector<StackRow> top(const StackCounts::Folded& weights, const std::unordered_map<std::string, uint64_t>& calls,
                          size_t n)
{
    std::vector<std::pair<std::string, uint64_t>> all(weights.begin(), weights.end());
    size_t keep = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + keep, all.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<StackRow> rows;
    for (size_t i = 0; i < keep; ++i) {
        StackRow row;
        row.count = all[i].second;
        auto c = calls.find(all[i].first);
        row.calls = c == calls.end() ? 0 : c->second;
        const std::string& line = all[i].first;
        for (size_t start = 0, part = 0;; ++part) {
            size_t semi = line.find(';', start);
            std::string name = line.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
            if (part == 0)
                row.comm = std::move(name);
            else
                row.frames.push_back(std::move(name));
            if (semi == std::string::npos)
                break;
            start = semi + 1;
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

// What the unwinding of a sample depends on: the stack bytes, the instruction and frame pointers, and
// the registers a frame's CFI may define its frame by (callee-saved ones, and r10, gcc's register
// for a realigned frame). Caller-saved registers hold the loop's values (the address a loop writes
// next) and are left out, so that a loop's faults, on one stack, unwind once.
// The process's JIT names are in it too: code named differently now unwinds again.
uint64_t sample_hash(const StackSampleRecord& s, const Process& process)
{
    std::string_view bytes(reinterpret_cast<const char*>(s.stack.data()), s.stack.size());
    uint64_t h = std::hash<std::string_view>()(bytes);
    const auto& g = s.fixed.regs;  // DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip
    for (int i : {3, 6, 7, 10, 12, 13, 14, 15, 16})
        h = (h ^ g[i]) * 0x100000001b3ULL;
    h = (h ^ process.memory->jit.generation()) * 0x100000001b3ULL;
    return h ^ (uint64_t{s.fixed.hdr.tgid} << 32) ^ s.fixed.hdr.flags;
}

// "comm;_start;..." and the like: a stack down to where its thread began, even when the unwinder
// did not stop there itself (ld.so's _start has no CFI that says it is the outermost frame).
bool starts_at_an_entry(const std::string& folded)
{
    size_t first = folded.find(';');
    if (first == std::string::npos)
        return false;
    size_t end = std::min(folded.find(';', first + 1), folded.size());
    std::string_view root(folded.data() + first + 1, end - first - 1);
    for (std::string_view entry : {"_start", "start_thread", "clone3", "__clone3", "clone", "__clone"})
        if (root == entry)
            return true;
    return false;
}

}  // namespace

StackCounts::StackCounts(CodeLocator& locator) : locator_(locator) {}

StackCounts::~StackCounts() = default;

void StackCounts::on_process(const ProcessEvent& e)
{
    // A new image (or the end of one): its modules are not the old one's.
    if (e.kind == ProcessEvent::Kind::Exec || e.kind == ProcessEvent::Kind::Exited) {
        unwinders_.erase(e.process.pid);
        cache_.clear();
        lines_.clear();
    }
}

const StackCounts::Unwound& StackCounts::unwind(const StackSampleRecord& sample, const Process& process,
                                                uint64_t hash)
{
    if (auto hit = cache_.find(hash); hit != cache_.end())
        return hit->second;
    auto& unwinder = unwinders_[process.pid];
    if (!unwinder) {
        // Code mappings as the model has them now; files as the namer trusts them (the build that
        // was mapped), anonymous code (JIT) by frame pointers.
        unwinder = std::make_unique<DwarfUnwinder>([this](uint64_t addr) -> std::optional<CodeMapping> {
            const Region* r = current_ ? current_->space().code_region_of(addr) : nullptr;
            if (!r || !r->exec)
                return std::nullopt;
            std::string file = r->path.empty() || r->path[0] != '/' ? std::string() : locator_.namer().file_for(r->path);
            return CodeMapping{file, r->start, r->end, r->offset};
        });
    }
    StackSample s;
    const auto& g = sample.fixed.regs;  // DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip
    s.regs = {g[16], g[7], g[6], g[3], g[12], g[13], g[14], g[15], g[0], g[2], g[1], g[4], g[5], g[8], g[9], g[10], g[11]};
    s.stack_start = g[7];
    s.bytes = sample.stack;
    current_ = &process;
    UnwoundStack u = unwinder->unwind(s, kMaxFrames);
    current_ = nullptr;
    if (cache_.size() >= kMaxCached || lines_.size() >= kMaxCached) {
        cache_.clear();
        lines_.clear();
    }
    Unwound unwound;
    unwound.depth = u.frames.size();
    unwound.truncated = u.end == UnwindEnd::stack_copy || u.end == UnwindEnd::max_frames;
    bool unnamed = false;
    std::string comm = process.comm.empty() ? fmt::format("pid {}", process.pid) : process.comm;
    unwound.folded = &*lines_.insert(fold(u.frames, unwound.truncated, comm, process.memory, &unnamed)).first;
    unwound.complete = u.end == UnwindEnd::outermost || starts_at_an_entry(*unwound.folded);
    if (unnamed)
        unwound.unnamed_jit = std::make_shared<std::vector<uint64_t>>(std::move(u.frames));
    return cache_.emplace(hash, unwound).first->second;
}

std::string StackCounts::fold(const std::vector<uint64_t>& frames, bool truncated, const std::string& comm,
                              const std::shared_ptr<MemoryMap>& memory, bool* unnamed_jit)
{
    std::string line = folded_name(comm);
    if (truncated)
        line += ";[truncated]";  // deeper than the copied stack: the root is not known
    for (size_t i = frames.size(); i-- > 0;) {
        // A return address is the instruction after the call: name the call itself.
        uint64_t ip = i == 0 ? frames[i] : frames[i] - 1;
        std::vector<std::string> names = locator_.frame_names(locator_.key(memory, ip));
        *unnamed_jit |= names.size() == 1 && names[0] == "[jit]";
        for (auto it = names.rbegin(); it != names.rend(); ++it)  // innermost last, root first
            line += ';' + folded_name(*it);
    }
    return line;
}

void StackCounts::on_stack_sample(const StackSampleRecord& sample, const Process& process)
{
    enabled_ = true;
    const mt_stack_sample& f = sample.fixed;
    if (f.kind >= tallies_.size())
        return;
    const uint64_t hash = sample_hash(sample, process) ^ f.kind;
    const Unwound& stack = unwind(sample, process, hash);
    std::string line = *stack.folded;
    Tally& tally = tallies_[f.kind];
    if (tally.weight.size() >= kMaxFoldedStacks && !tally.weight.count(line))
        line = "[more_stacks_than_memtrace_keeps]";
    tally.weight[line] += f.weight;
    ++tally.calls[line];
    if (stack.unnamed_jit && (unnamed_.size() < kMaxCached || unnamed_.count(hash))) {
        Unnamed& u = unnamed_.try_emplace(hash, Unnamed{f.kind, line, process.comm, process.memory, stack.unnamed_jit,
                                                        stack.truncated}).first->second;
        u.weight += f.weight;
        ++u.calls;
    }
    if (f.kind == MT_STACK_FAULT) {
        period_ = static_cast<uint32_t>(std::min<uint64_t>(f.weight, UINT32_MAX));
        ++samples_;
        deep_ += stack.depth >= 5;
        truncated_ += stack.truncated;
        complete_faults_ += stack.complete;
    } else {
        ++call_samples_;
        complete_calls_ += stack.complete;
    }
}

void StackCounts::rename_jit_frames()
{
    for (auto it = unnamed_.begin(); it != unnamed_.end();) {
        Unnamed& u = it->second;
        bool still_unnamed = false;
        std::string line = fold(*u.frames, u.truncated, u.comm.empty() ? "?" : u.comm, u.memory, &still_unnamed);
        if (line != u.line) {
            // What was counted under the old name moves to the new one.
            Tally& tally = tallies_[u.kind];
            auto move = [&](std::unordered_map<std::string, uint64_t>& m, uint64_t n) {
                auto old = m.find(u.line);
                if (old == m.end())
                    return;
                old->second -= std::min(old->second, n);
                if (old->second == 0)
                    m.erase(old);
                m[line] += n;
            };
            move(tally.weight, u.weight);
            move(tally.calls, u.calls);
            u.line = line;
        }
        it = still_unnamed ? std::next(it) : unnamed_.erase(it);
    }
}

void StackCounts::report(Report& r, const ReportContext&)
{
    // Samples in JIT code keep coming under their old names until a report: the runtime writes
    // its perf map as it compiles, often after the code first ran.
    if (!unnamed_.empty())
        rename_jit_frames();
    r.stacks = enabled_;
    r.stack_sample_period = period_;
    r.stack_samples = samples_;
    r.deep_stack_samples = deep_;
    r.truncated_stacks = truncated_;
    r.complete_stack_samples = complete_faults_;
    r.call_stack_samples = call_samples_;
    r.complete_call_stack_samples = complete_calls_;
    r.stacks_lost = lost_;
    r.fault_stacks = top(tallies_[MT_STACK_FAULT].weight, tallies_[MT_STACK_FAULT].calls, 5);
    r.brk_stacks = top(tallies_[MT_STACK_BRK].weight, tallies_[MT_STACK_BRK].calls, 3);
    r.mmap_stacks = top(tallies_[MT_STACK_MMAP].weight, tallies_[MT_STACK_MMAP].calls, 3);
}

}  // namespace memtrace
