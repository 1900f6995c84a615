// Shared helpers of the unit tests: a canned ProcessProbe, record builders, fixture paths.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <linux/types.h>

#include <fmt/format.h>

#include "model/address_space.h"
#include "model/elf_image.h"
#include "model/maps_parser.h"
#include "model/object_table.h"
#include "memtrace/events.h"
#include "source/process_probe.h"

namespace memtrace_test {

inline std::string fixture_path(const std::string& name) { return std::string(MEMTRACE_FIXTURES) + "/" + name; }

inline std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

inline std::vector<memtrace::MapsEntry> maps_from_text(const std::string& text)
{
    std::istringstream in(text);
    return memtrace::parse_maps(in);
}

// Every file the fake system has lives on device fe:00; its inode is made from its path, so that
// distinct paths are distinct objects and a maps text names each one the way the kernel would.
constexpr uint32_t kFakeDevMajor = 0xfe;
inline uint64_t fake_dev() { return memtrace::kernel_dev(kFakeDevMajor, 0); }
inline uint64_t fake_inode(const std::string& path) { return 1000 + std::hash<std::string>()(path) % 1000000; }

// A ProcessProbe with canned answers: maps per pid (a missing pid throws, like /proc for a
// process that is gone), ELF images per path, and optionally the real files on disk. `objects`
// holds the added images too, for tests that build an AddressSpace themselves.
class FakeSource : public memtrace::ProcessProbe {
public:
    std::map<int, std::vector<memtrace::MapsEntry>> maps_of;
    std::map<std::string, std::shared_ptr<const memtrace::ElfImage>> elves;
    std::map<uint32_t, memtrace::ProcessFacts> facts_of;  // default: comm "app", counters unknown
    std::map<uint32_t, std::vector<std::pair<uint32_t, uint64_t>>> threads_of;
    std::map<uint32_t, memtrace::ResidentPages> resident_of;
    memtrace::ObjectTable objects;
    bool load_real_files = false;
    uint64_t shm_bytes = 4096;
    int maps_calls = 0;
    int object_calls = 0;
    std::vector<int64_t> shm_queries;

    void set_maps(int pid, const std::string& text) { maps_of[pid] = maps_from_text(text); }
    // An image at `path`, as a probe answer and in `objects` (device fe:00, inode fake_inode(path)).
    void add_image(const std::string& path, std::shared_ptr<const memtrace::ElfImage> image)
    {
        elves[path] = image;
        memtrace::ObjectInfo info;
        info.dev = fake_dev();
        info.ino = fake_inode(path);
        info.path = path;
        info.elf = image;
        objects.add(info);
    }

    // The real files behind `maps` into `objects`, keyed as the maps name them.
    void add_real_objects(const std::vector<memtrace::MapsEntry>& maps)
    {
        for (const memtrace::MapsEntry& e : maps) {
            if (!e.inode || e.path.empty() || e.path[0] != '/')
                continue;
            memtrace::ObjectInfo info;
            info.dev = memtrace::kernel_dev(e.dev_major, e.dev_minor);
            info.ino = e.inode;
            info.path = e.path;
            info.elf = memtrace::ElfImage::load(e.path);
            objects.add(info);
        }
    }

    std::vector<memtrace::MapsEntry> maps(uint32_t pid) override
    {
        ++maps_calls;
        auto it = maps_of.find(static_cast<int>(pid));
        if (it == maps_of.end())
            throw std::runtime_error(fmt::format("no process {}", pid));
        return it->second;
    }
    memtrace::ObjectInfo object(const memtrace::MappedFile& file) override
    {
        ++object_calls;
        memtrace::ObjectInfo info;
        info.dev = file.dev;
        info.ino = file.ino;
        info.path = file.path;
        auto it = elves.find(file.path);
        if (it != elves.end())
            info.elf = it->second;
        else if (load_real_files)
            info.elf = memtrace::ElfImage::load(file.path);
        return info;
    }
    uint64_t shm_size(int64_t shmid) override
    {
        shm_queries.push_back(shmid);
        return shm_bytes;
    }
    std::optional<memtrace::ProcessFacts> facts(uint32_t pid) override
    {
        auto it = facts_of.find(pid);
        if (it != facts_of.end())
            return it->second;
        if (!maps_of.count(static_cast<int>(pid)))
            return std::nullopt;
        return memtrace::ProcessFacts{"app", std::nullopt};
    }
    std::vector<std::pair<uint32_t, uint64_t>> thread_stack_pointers(uint32_t pid) override
    {
        auto it = threads_of.find(pid);
        return it == threads_of.end() ? std::vector<std::pair<uint32_t, uint64_t>>{} : it->second;
    }
    std::optional<memtrace::ResidentPages> resident(uint32_t pid) override
    {
        auto it = resident_of.find(pid);
        return it == resident_of.end() ? std::nullopt : std::optional<memtrace::ResidentPages>(it->second);
    }
    uint64_t stack_limit(uint32_t) override { return stack_limit_bytes; }
    uint64_t stack_limit_bytes = 8 << 20;
    // What each process's JIT "wrote" to its perf map, handed out in `perf_map_chunk` pieces.
    std::map<uint32_t, std::string> perf_map_of;
    size_t perf_map_chunk = 1 << 20;
    std::vector<uint32_t> perf_maps_done;
    std::string perf_map_appended(uint32_t pid, size_t max_bytes) override
    {
        std::string& left = perf_map_of[pid];
        std::string out = left.substr(0, std::min(max_bytes, perf_map_chunk));
        left.erase(0, out.size());
        return out;
    }
    void perf_map_done(uint32_t pid) override { perf_maps_done.push_back(pid); }
};

// The /proc/PID/maps lines the kernel shows for an ELF image mapped at `base` (0 for a fixed-address
// executable): one mapping per PT_LOAD over its file pages, then the anonymous pages of its .bss.
// With relro_readonly, writable loads whose pages are all RELRO (those holding no .data/.bss) show
// r--p, as they do once ld.so has applied RELRO.
inline std::string maps_for_image(const memtrace::ElfImage& image, uint64_t base, const std::string& path,
                                  bool relro_readonly = false)
{
    auto page_down = [](uint64_t v) { return v & ~0xfffULL; };
    auto page_up = [](uint64_t v) { return (v + 0xfff) & ~0xfffULL; };
    std::string out;
    for (const memtrace::ElfLoad& l : image.loads()) {
        uint64_t start = base + page_down(l.vaddr), file_end = base + page_up(l.vaddr + l.filesz);
        bool write = l.writable;
        if (relro_readonly && l.writable && l.memsz == l.filesz) {
            bool holds_data = false;
            for (const memtrace::ElfSection& s : image.sections())
                if (s.addr >= l.vaddr && s.addr < l.vaddr + l.memsz && (s.name == ".data" || s.name == ".bss"))
                    holds_data = true;
            write = holds_data;
        }
        std::string perms = fmt::format("r{}{}p", write ? 'w' : '-', l.executable ? 'x' : '-');
        out += fmt::format("{:012x}-{:012x} {} {:08x} fe:00 {} {}\n", start, file_end, perms, page_down(l.offset),
                           fake_inode(path), path);
        uint64_t mem_end = base + page_up(l.vaddr + l.memsz);
        if (mem_end > file_end)
            out += fmt::format("{:012x}-{:012x} rw-p 00000000 00:00 0 \n", file_end, mem_end);
    }
    return out;
}

inline const memtrace::ElfSection* find_section(const memtrace::ElfImage& image, const std::string& name)
{
    for (const memtrace::ElfSection& s : image.sections())
        if (s.name == name)
            return &s;
    return nullptr;
}

// A record of type T with its header filled.
template <typename T>
T make_record(uint16_t type, uint32_t tgid, uint32_t tid, uint64_t ts_ns = 0, uint16_t flags = 0)
{
    T r{};
    mt_header& h = reinterpret_cast<mt_header&>(r);
    h.type = type;
    h.flags = flags;
    h.tgid = tgid;
    h.tid = tid;
    h.ts_ns = ts_ns;
    return r;
}

inline mt_fault make_fault(uint32_t tgid, uint32_t tid, uint64_t addr, uint16_t flags = MT_FAULT_USER, uint64_t ip = 0)
{
    auto f = make_record<mt_fault>(MT_REC_FAULT, tgid, tid, 0, flags);
    f.addr = addr;
    f.ip = ip;
    return f;
}

}  // namespace memtrace_test
