// Names a JIT runtime gave its generated code in /tmp/perf-PID.map ("START SIZE NAME" in hex, one
// code object a line), as perf and bpftrace read them: node --perf-basic-prof, the JVM's perf-map
// agent, Python 3.12's -X perf. Held per address space; later entries over the same addresses win.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace memtrace {

struct JitSymbol {
    uint64_t start = 0, size = 0;
    std::string name;
};

class JitSymbols {
public:
    static constexpr size_t kMaxSymbols = 1 << 18;  // a long-running JIT writes without end

    void add(JitSymbol symbol);
    // The symbol whose [start, start + size) holds `addr`.
    const JitSymbol* find(uint64_t addr) const;
    size_t size() const { return by_start_.size(); }
    // Counts the symbols added: what was named from the map before may be named otherwise now.
    uint64_t generation() const { return generation_; }

private:
    std::map<uint64_t, JitSymbol> by_start_;
    uint64_t generation_ = 0;
};

// One line of a perf map: "7f2675404900 1a0 JS:*fill [eval]:1:14". nullopt when it is not one.
std::optional<JitSymbol> parse_perf_map_line(std::string_view line);

}  // namespace memtrace
