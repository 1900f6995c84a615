// Writes the fuzz_records seed corpus (corpus/fuzz_records/): well-formed records of every type
// of include/memtrace/events.h, in the input format fuzz_records.cpp describes, for the process
// the fuzz target attaches to (pid 100, the layout of its default_maps()).
//   c++ -std=c++17 -Iinclude tests/fuzz/make_record_seeds.cpp -o /tmp/seeds && /tmp/seeds tests/fuzz/corpus/fuzz_records
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <vector>

#include <linux/types.h>

#include "memtrace/events.h"

namespace {

constexpr uint32_t kPid = 100;

struct Seed {
    std::vector<uint8_t> bytes;

    Seed(uint8_t flags, uint8_t width = 80, uint8_t height = 24) : bytes{flags, width, height, 0} {}
    template <typename T>
    Seed& add(const T& record, size_t size = sizeof(T))
    {
        bytes.push_back(size & 0xff);
        bytes.push_back(size >> 8);
        const auto* p = reinterpret_cast<const uint8_t*>(&record);
        bytes.insert(bytes.end(), p, p + size);
        return *this;
    }
    Seed& interval()
    {
        bytes.push_back(0);
        bytes.push_back(0);
        return *this;
    }
    Seed& text(const std::string& s)
    {
        bytes.push_back(s.size() & 0xff);
        bytes.push_back(s.size() >> 8);
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
    void write(const std::string& dir, const std::string& name) const
    {
        std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
        std::fwrite(bytes.data(), 1, bytes.size(), f);
        std::fclose(f);
    }
};

template <typename T>
T rec(uint16_t type, uint32_t tgid = kPid, uint32_t tid = kPid, uint16_t flags = 0)
{
    T r{};
    auto& h = reinterpret_cast<mt_header&>(r);
    h.type = type;
    h.flags = flags;
    h.tgid = tgid;
    h.tid = tid;
    h.ts_ns = 1000000;
    return r;
}

mt_fault fault(uint64_t addr, uint16_t flags = MT_FAULT_USER | MT_FAULT_WRITE, uint32_t pid = kPid)
{
    auto f = rec<mt_fault>(MT_REC_FAULT, pid, pid, flags);
    f.addr = addr;
    f.ip = 0x555555555000;
    return f;
}

mt_mmap mmap_rec(uint16_t type, uint64_t addr, uint64_t len, uint32_t prot, uint32_t mflags,
                 std::vector<std::string> leaf_first = {}, uint16_t path_flags = 0)
{
    auto m = rec<mt_mmap>(type);
    m.addr = addr;
    m.len = len;
    m.prot = prot;
    m.mflags = mflags;
    m.fd = leaf_first.empty() ? -1 : 3;
    m.dev = leaf_first.empty() ? 0 : (254u << 20) | 1;
    m.ino = leaf_first.empty() ? 0 : 4242;
    size_t off = 0;
    for (const std::string& c : leaf_first) {
        std::memcpy(m.path + off, c.c_str(), c.size() + 1);
        off += c.size() + 1;
    }
    m.path_len = static_cast<uint16_t>(off);
    m.path_flags = path_flags;
    return m;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string dir = argc > 1 ? argv[1] : ".";
    const uint64_t heap = 0x555558000000, anon = 0x7f0000000000, stack = 0x7ffffffde000;

    // One of each type, attributed against the attached layout.
    auto major = rec<mt_major>(MT_REC_MAJOR);
    major.addr = heap;
    auto munmap = rec<mt_munmap>(MT_REC_MUNMAP);
    munmap.addr = 0x7f1000000000;
    munmap.len = 0x2000;
    auto mremap = rec<mt_mremap>(MT_REC_MREMAP);
    mremap.old_addr = anon;
    mremap.old_len = 0x100000;
    mremap.new_addr = 0x7f2000000000;
    mremap.new_len = 0x200000;
    mremap.mflags = 1;
    auto mprotect = rec<mt_mprotect>(MT_REC_MPROTECT);
    mprotect.addr = 0x7f2000000000;
    mprotect.len = 0x1000;
    mprotect.prot = PROT_READ;
    auto brk = rec<mt_brk>(MT_REC_BRK);
    brk.start_brk = heap;
    brk.old_brk = heap + 0x21000;
    brk.new_brk = heap + 0x42000;
    auto shmat = rec<mt_shmat>(MT_REC_SHMAT);
    shmat.addr = 0x7f3000000000;
    shmat.size = 0x10000;
    shmat.shmid = 5;
    auto shmdt = rec<mt_shmat>(MT_REC_SHMDT);
    shmdt.addr = 0x7f3000000000;
    auto thread = rec<mt_fork>(MT_REC_THREAD);
    thread.child_tgid = kPid;
    thread.child_tid = kPid + 1;
    thread.child_sp = 0x7f1000001f00;
    auto fork = rec<mt_fork>(MT_REC_FORK);
    fork.child_tgid = kPid + 10;
    fork.child_tid = kPid + 10;
    auto exit_child = rec<mt_exit>(MT_REC_EXIT, kPid + 10, kPid + 10);
    exit_child.minflt = 20;
    auto exit = rec<mt_exit>(MT_REC_EXIT);
    exit.minflt = 5000;
    exit.majflt = 3;

    Seed each(32 | 64);
    each.add(fault(heap)).add(major).add(fault(stack + 0x20000)).add(fault(0x555555555000, MT_FAULT_USER | MT_FAULT_INSTR));
    each.add(mmap_rec(MT_REC_MMAP, 0x7f1000000000, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK));
    each.add(mmap_rec(MT_REC_MMAP, 0x7f1000010000, 0x3000, PROT_READ, MAP_PRIVATE, {"data.bin", "share", "usr"}));
    each.add(thread).add(fault(0x7f1000001000)).add(fault(0x7f1000011000, MT_FAULT_USER));
    each.add(munmap).add(mremap).add(mprotect).add(fault(0x7f2000000000, MT_FAULT_USER | MT_FAULT_PROTECTION));
    each.add(brk).add(fault(heap + 0x30000)).add(shmat).add(fault(0x7f3000000000)).add(shmdt);
    each.add(fork).add(fault(heap, MT_FAULT_USER, kPid + 10)).add(exit_child).interval();
    each.add(fault(anon + 0x1000, MT_FAULT_KERNEL_MODE | MT_FAULT_WRITE)).add(exit);
    each.write(dir, "each_type");
    Seed events = each;
    events.bytes[0] = 2;
    events.bytes[1] = 100;
    events.bytes[2] = 30;
    events.write(dir, "each_type_events");

    // exec: begin, faults held, the new image's VMAs, then the exec record; and a failed exec.
    auto begin = rec<mt_header>(MT_REC_EXEC_BEGIN);
    auto failed = rec<mt_header>(MT_REC_EXEC_FAILED);
    auto exec = rec<mt_exec>(MT_REC_EXEC, kPid, kPid, MT_EXEC_LAYOUT_COMPLETE);
    std::strcpy(exec.comm, "newprog");
    std::strcpy(exec.filename, "/usr/bin/newprog");
    exec.start_brk = 0x560000010000;
    exec.start_stack = 0x7fffffffe000;
    exec.minflt = 100;
    auto exec_major = rec<mt_major>(MT_REC_MAJOR);
    exec_major.addr = 0x560000000000;
    Seed ex(8 | 16 | 32);
    ex.add(begin).add(fault(0x560000000000)).add(failed).add(fault(heap)).add(begin).add(fault(0x560000000000)).add(exec_major);
    ex.add(mmap_rec(MT_REC_VMA, 0x560000000000, 0x1000, PROT_READ | PROT_EXEC, MAP_PRIVATE, {"newprog", "bin", "usr"}));
    ex.add(mmap_rec(MT_REC_VMA, 0x560000010000, 0x21000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, {}, MT_VMA_HEAP));
    ex.add(mmap_rec(MT_REC_VMA, 0x7ffffffde000, 0x21000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, {}, MT_VMA_STACK));
    ex.add(mmap_rec(MT_REC_VMA, 0x7ffff7fc5000, 0x2000, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, {}, MT_VMA_VDSO));
    ex.add(mmap_rec(MT_REC_VMA, 0x7ffff7fc1000, 0x4000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, {}, MT_VMA_VVAR));
    ex.add(mmap_rec(MT_REC_VMA, 0x7ff000000000, 0x1000, PROT_READ, MAP_PRIVATE, {"deep"}, MT_PATH_TRUNCATED));
    ex.add(exec).add(fault(0x560000010000)).add(fault(0x7fffffffd000)).interval().add(exit);
    ex.write(dir, "exec");

    // A launched command: faults before its exec are memtrace's own fork.
    auto exec_launched = exec;
    exec_launched.hdr.flags = 0;
    Seed launched(1 | 32 | 64);
    launched.add(fault(heap)).add(begin).add(fault(0x560000000000)).add(exec_launched).add(fault(heap)).add(exit);
    launched.write(dir, "launched");

    // Malformed: short records of every type, an unknown type, a header only.
    Seed bad(64, 40, 12);
    for (uint16_t type = 0; type <= MT_REC_TYPE_MAX; ++type) {
        auto f = fault(heap);
        f.hdr.type = type;
        bad.add(f, sizeof(mt_header) + 4);
        bad.add(f, sizeof(mt_header) - 1);
    }
    auto unknown = fault(heap);
    unknown.hdr.type = 0x7fff;
    bad.add(unknown).interval();
    bad.write(dir, "malformed");

    // The maps text of the target comes from the input.
    Seed maps(4, 200, 60);
    maps.text("560000000000-560000001000 r-xp 00000000 fe:00 555 /usr/bin/app\n"
              "560000010000-560000031000 rw-p 00000000 00:00 0 [heap]\n"
              "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n");
    maps.add(fault(0x560000000000, MT_FAULT_USER | MT_FAULT_INSTR)).add(fault(0x560000010000)).add(fault(0x7fffffffe000));
    maps.write(dir, "maps_from_input");

    // --stacks: a stack sample of a fault in the executable, with some stack; a JIT's symbol.
    struct Sample {
        mt_stack_sample s;
        uint8_t stack[256];
    } sample{};
    sample.s = rec<mt_stack_sample>(MT_REC_STACK_SAMPLE);
    sample.s.kind = MT_STACK_FAULT;
    sample.s.weight = 64;
    sample.s.stack_len = sizeof(sample.stack);
    sample.s.regs[7] = 0x7fffffffd000;
    sample.s.regs[16] = 0x560000000100;
    for (size_t i = 0; i < sizeof(sample.stack); ++i)
        sample.stack[i] = static_cast<uint8_t>(i * 7);
    struct Jit {
        mt_jit_symbol j;
        char name[16];
    } jit{};
    jit.j = rec<mt_jit_symbol>(MT_REC_JIT_SYMBOL);
    jit.j.start = 0x7f1000000000;
    jit.j.size = 0x100;
    jit.j.name_len = 12;
    std::memcpy(jit.name, "JS:hot;loop\n", 12);
    auto start = rec<mt_trace_start>(MT_REC_TRACE_START, 0, 0);
    start.flags = MT_TRACE_STACKS;
    Seed stacks(32 | 64);
    stacks.add(start).add(fault(heap)).add(sample).add(jit);
    sample.s.kind = MT_STACK_BRK;
    sample.s.weight = 1 << 20;
    stacks.add(sample).interval();
    stacks.write(dir, "stacks");

    // -a: counts of two processes, a cgroup, latency histograms; one process exits, one reuses a pid.
    struct Cgroup {
        mt_cgroup c;
        char path[16];
    } cg{};
    cg.c = rec<mt_cgroup>(MT_REC_CGROUP, 0, 0);
    cg.c.id = 77;
    cg.c.path_len = 13;
    std::memcpy(cg.path, "/web.service\x1b", 13);
    auto counted = rec<mt_trace_start>(MT_REC_TRACE_START, 0, 0);
    counted.flags = MT_TRACE_COUNTED;
    auto web = rec<mt_process_counts>(MT_REC_PROCESS_COUNTS, 200, 200);
    web.cgroup_id = 77;
    std::memcpy(web.comm, "nginx", 5);
    web.counts.faults[MT_KIND_HEAP][0] = 40;
    web.counts.faults[MT_KIND_ANON][1] = 3;
    web.counts.major[MT_KIND_FILE][0] = 2;
    web.counts.faults[MT_KIND_FILE][0] = 2;
    web.brk_grown = 8192;
    auto gone = web;
    gone.hdr.tgid = gone.hdr.tid = 201;
    gone.hdr.flags = MT_PROCESS_EXITED;
    auto latency = rec<mt_latency>(MT_REC_LATENCY, 0, 0);
    latency.buckets[0][11] = 5;
    latency.sum_ns[0] = 15000;
    Seed system(32 | 64, 120, 40);
    system.add(counted).add(cg).add(web).add(gone).add(latency).interval();
    web.counts.faults[MT_KIND_HEAP][0] = 10;  // went down: another process under that pid
    system.add(web).interval();
    system.write(dir, "system_wide");
    return 0;
}
