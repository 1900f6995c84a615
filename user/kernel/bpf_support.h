// What both of memtrace's BPF loaders (BpfTracer, CountTracer) need of libbpf: its log routed or
// silenced, its errors as one line, links that detach when dropped, software perf events on every
// CPU, the keys of a hash map.
#pragma once

#include <memory>
#include <stdexcept>
#include <vector>

#include <bpf/libbpf.h>

namespace memtrace {

// libbpf's own log on stderr with `verbose`, else nothing (the caller says what failed).
void route_libbpf_log(bool verbose);
// "WHAT: strerror (run with -v to see libbpf's log)".
std::runtime_error libbpf_error(const char* what, int err);

struct LinkDeleter {
    void operator()(bpf_link* link) const;
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

// Attaches `program` to the software perf event `config` (PERF_COUNT_SW_...) on every online CPU,
// every event sampled; `what` names it in errors. Throws std::runtime_error.
void attach_software_event(bpf_program* program, unsigned long long config, const char* what,
                           std::vector<Link>& links);

// Every key of a hash map, as it is now (entries added meanwhile may be missed: the next call
// sees them).
template <typename Key>
std::vector<Key> map_keys(const bpf_map* map)
{
    std::vector<Key> keys;
    Key key{}, next{};
    const Key* prev = nullptr;
    while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
        keys.push_back(next);
        key = next;
        prev = &key;
    }
    return keys;
}

}  // namespace memtrace
