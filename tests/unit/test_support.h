// Shared helpers of the unit tests: a canned ProcessSource, record builders, fixture paths.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <linux/types.h>

#include <fmt/format.h>

#include "core/address_space.h"
#include "core/elf_image.h"
#include "core/maps_parser.h"
#include "memtrace/events.h"

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

// A ProcessSource with canned answers: maps per pid (a missing pid throws, like /proc for a
// process that is gone), ELF images per path, and optionally the real files on disk.
class FakeSource : public memtrace::ProcessSource {
public:
    std::map<int, std::vector<memtrace::MapsEntry>> maps_of;
    std::map<std::string, std::shared_ptr<const memtrace::ElfImage>> elves;
    bool load_real_files = false;
    uint64_t shm_bytes = 4096;
    int maps_calls = 0;
    std::vector<int64_t> shm_queries;

    void set_maps(int pid, const std::string& text) { maps_of[pid] = maps_from_text(text); }

    std::vector<memtrace::MapsEntry> maps(int pid) override
    {
        ++maps_calls;
        auto it = maps_of.find(pid);
        if (it == maps_of.end())
            throw std::runtime_error(fmt::format("no process {}", pid));
        return it->second;
    }
    std::shared_ptr<const memtrace::ElfImage> elf(const std::string& path) override
    {
        auto it = elves.find(path);
        if (it != elves.end())
            return it->second;
        if (!load_real_files)
            return nullptr;
        auto image = memtrace::ElfImage::load(path);
        elves.emplace(path, image);
        return image;
    }
    uint64_t shm_size(int64_t shmid) override
    {
        shm_queries.push_back(shmid);
        return shm_bytes;
    }
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
        out += fmt::format("{:012x}-{:012x} {} {:08x} fe:00 4242 {}\n", start, file_end, perms, page_down(l.offset),
                           path);
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
