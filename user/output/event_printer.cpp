#include "output/event_printer.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/compile.h>

#include "analysis/crash_explainer.h"
#include "output/format_util.h"

namespace memtrace {

std::string prot_string(uint64_t prot)
{
    return {prot & PROT_READ ? 'r' : '-', prot & PROT_WRITE ? 'w' : '-', prot & PROT_EXEC ? 'x' : '-'};
}

std::string map_flags_string(uint64_t flags)
{
    static const struct {
        uint64_t bit;
        const char* name;
    } names[] = {{MAP_SHARED, "SHARED"},       {MAP_PRIVATE, "PRIVATE"},     {MAP_FIXED, "FIXED"},
                 {MAP_ANONYMOUS, "ANONYMOUS"}, {MAP_GROWSDOWN, "GROWSDOWN"}, {MAP_DENYWRITE, "DENYWRITE"},
                 {MAP_NORESERVE, "NORESERVE"}, {MAP_POPULATE, "POPULATE"},   {MAP_STACK, "STACK"},
                 {MAP_HUGETLB, "HUGETLB"},     {MAP_FIXED_NOREPLACE, "FIXED_NOREPLACE"}};
    std::string out;
    if ((flags & MAP_SHARED_VALIDATE) == MAP_SHARED_VALIDATE) {  // 3: not SHARED|PRIVATE
        out = "SHARED_VALIDATE";
        flags &= ~static_cast<uint64_t>(MAP_SHARED_VALIDATE);
    }
    for (const auto& n : names) {
        if (flags & n.bit) {
            if (!out.empty())
                out += '|';
            out += n.name;
            flags &= ~n.bit;
        }
    }
    if (flags)
        out += fmt::format("{}0x{:x}", out.empty() ? "" : "|", flags);
    return out.empty() ? "0" : out;
}

void EventPrinter::print_header()
{
    fmt::format_to(std::back_inserter(buffer_), "{:>12} {:<24} {:<8} {}\n", "TIME(s)", "COMM/PID/TID", "EVENT",
                   "DETAILS");
}

namespace {

// The fault line's fields, written by hand straight into the output buffer: fmt's padding counts
// code points on every padded string, which made formatting most of --events' cost at a million
// faults a second.
char* write_hex(char* p, uint64_t v, int min_digits)
{
    static const char digits[] = "0123456789abcdef";
    int n = std::max(min_digits, (64 - __builtin_clzll(v | 1) + 3) / 4);
    for (int i = n - 1; i >= 0; --i, v >>= 4)
        p[i] = digits[v & 0xf];
    return p + n;
}

// `v` right-aligned in `width` columns of `fill` (wider when it needs to be).
char* write_decimal(char* p, uint64_t v, int width, char fill)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = fill;
    while (n)
        *p++ = tmp[--n];
    return p;
}

char* write(char* p, const std::string& s)
{
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
}

}  // namespace

const std::string& EventPrinter::who(const mt_header& h, const Process& process)
{
    // Faults come in runs from one thread: its "comm/pid/tid" column is made once per run.
    if (h.tid != who_tid_ || h.tgid != who_tgid_ || process.comm != who_comm_) {
        who_tid_ = h.tid;
        who_tgid_ = h.tgid;
        who_comm_ = process.comm;
        who_ = fmt::format("{}/{}/{}", terminal_safe(process.comm), h.tgid, h.tid);
        if (who_.size() < 24)
            who_.resize(24, ' ');
        who_ += ' ';
    }
    return who_;
}

const std::string& EventPrinter::padded_label(SegmentId segment)
{
    if (segment >= labels_.size())
        labels_.resize(segments_.size());
    std::string& label = labels_[segment];
    if (label.empty()) {
        label = terminal_safe(segments_.at(segment).label);
        if (display_width(label) < 32)
            label.append(32 - display_width(label), ' ');
    }
    return label;
}

void EventPrinter::print(const Record& record, SegmentId segment, const Process& process)
{
    const mt_header& h = record.header();
    // One line per fault at up to a million faults a second: no allocation, no float formatting.
    uint64_t us = h.ts_ns >= start_ns_ ? (h.ts_ns - start_ns_) / 1000 : 0;
    const std::string& who_column = who(h, process);
    if (h.type == MT_REC_FAULT) {
        const auto f = record.as<mt_fault>();
        const std::string& label = padded_label(segment);
        // "sssss.uuuuuu " 13+, "fault    0x" 11, address 16, " WP kernel " 11, " ip=0x" 6, 16, '\n'.
        const size_t at = buffer_.size();
        buffer_.resize(at + 96 + who_column.size() + label.size());
        char* p = buffer_.data() + at;
        p = write_decimal(p, us / 1000000, 5, ' ');
        *p++ = '.';
        p = write_decimal(p, us % 1000000, 6, '0');
        *p++ = ' ';
        p = write(p, who_column);
        std::memcpy(p, "fault    0x", 11);
        p = write_hex(p + 11, f.addr, 12);
        *p++ = ' ';
        const bool unknown = h.flags & MT_FAULT_ACCESS_UNKNOWN;  // the perf event source
        *p++ = h.flags & MT_FAULT_INSTR ? 'X' : unknown ? '?' : h.flags & MT_FAULT_WRITE ? 'W' : 'R';
        *p++ = unknown ? '?' : h.flags & MT_FAULT_PROTECTION ? 'P' : '-';
        std::memcpy(p, h.flags & MT_FAULT_KERNEL_MODE ? " kernel " : " user   ", 8);
        p = write(p + 8, label);
        std::memcpy(p, " ip=0x", 6);
        p = write_hex(p + 6, f.ip, 1);
        *p++ = '\n';
        buffer_.resize(static_cast<size_t>(p - buffer_.data()));
        if (buffer_.size() > 64 * 1024)
            flush();
        return;
    }
    if (h.type == MT_REC_FAULT_DONE && !(h.flags & MT_DONE_MAJOR))
        return;  // --latency's completion of a minor fault: in the histograms, not a line
    auto out = std::back_inserter(buffer_);
    fmt::format_to(out, FMT_COMPILE("{:5}.{:06} "), us / 1000000, us % 1000000);
    buffer_.append(who_column.data(), who_column.data() + who_column.size());
    switch (h.type) {
    case MT_REC_SIGNAL: {
        const auto sig = record.as<mt_signal>();
        fmt::format_to(out, "{:<8} {} {} addr=0x{:x} ip=0x{:x} (explained in the summary)\n", "signal",
                       signal_name(sig.signo), signal_code_name(sig.signo, sig.code), sig.addr, sig.ip);
        break;
    }
    case MT_REC_MAJOR:
    case MT_REC_FAULT_DONE:
        fmt::format_to(out, "{:<8} 0x{:012x} (the fault above was major)\n", "major",
                       record.as<mt_major>().addr);
        break;
    case MT_REC_MMAP: {
        const MmapRecord m = mmap_of(record);
        fmt::format_to(out, "{:<8} 0x{:012x}-0x{:012x} {:>6} {} {} off=0x{:x} {}\n", "mmap", m.addr, m.addr + m.len,
                       fmt::format("({})", m.len), prot_string(m.prot), map_flags_string(m.mflags), m.pgoff,
                       terminal_safe(m.path));
        break;
    }
    case MT_REC_VMA: {
        const MmapRecord m = mmap_of(record);
        std::string what = m.path_flags & MT_VMA_STACK ? "[stack]"
                         : m.path_flags & MT_VMA_HEAP  ? "[heap]"
                         : m.path_flags & MT_VMA_VDSO  ? "[vdso]"
                         : m.path_flags & MT_VMA_VVAR  ? "[vvar]"
                         : maps_entry_of(m).path;
        fmt::format_to(out, "{:<8} 0x{:012x}-0x{:012x} {:>6} {} off=0x{:x} {}\n", "vma", m.addr, m.addr + m.len,
                       fmt::format("({})", m.len), prot_string(m.prot), m.pgoff, terminal_safe(what));
        break;
    }
    case MT_REC_EXEC_BEGIN:
        fmt::format_to(out, "execve   (faults until exec belong to the new image)\n");
        break;
    case MT_REC_EXEC_FAILED:
        fmt::format_to(out, "execve   failed: the old image stays\n");
        break;
    case MT_REC_MUNMAP: {
        const auto m = record.as<mt_munmap>();
        fmt::format_to(out, "{:<8} 0x{:012x}-0x{:012x} ({})\n", "munmap", m.addr, m.addr + m.len, m.len);
        break;
    }
    case MT_REC_MREMAP: {
        const auto m = record.as<mt_mremap>();
        fmt::format_to(out, "{:<8} 0x{:012x} ({}) -> 0x{:012x} ({})\n", "mremap", m.old_addr, m.old_len, m.new_addr,
                       m.new_len);
        break;
    }
    case MT_REC_MPROTECT: {
        const auto m = record.as<mt_mprotect>();
        fmt::format_to(out, "{:<8} 0x{:012x}-0x{:012x} {}\n", "mprotect", m.addr, m.addr + m.len,
                       prot_string(m.prot));
        break;
    }
    case MT_REC_BRK: {
        const auto b = record.as<mt_brk>();
        int64_t delta = static_cast<int64_t>(b.new_brk - b.old_brk);
        fmt::format_to(out, "{:<8} 0x{:x} -> 0x{:x} ({:+}) heap {} bytes\n", "brk", b.old_brk, b.new_brk, delta,
                       b.new_brk - b.start_brk);
        break;
    }
    case MT_REC_SHMAT:
    case MT_REC_SHMDT: {
        const auto s = record.as<mt_shmat>();
        fmt::format_to(out, "{:<8} 0x{:012x} shmid={}\n", h.type == MT_REC_SHMAT ? "shmat" : "shmdt", s.addr,
                       s.shmid);
        break;
    }
    case MT_REC_EXEC: {
        const auto e = record.as<mt_exec>();
        fmt::format_to(out, "{:<8} {}\n", "exec",
                       terminal_safe(std::string_view(e.filename, strnlen(e.filename, sizeof(e.filename)))));
        break;
    }
    case MT_REC_FORK:
    case MT_REC_THREAD: {
        const auto f = record.as<mt_fork>();
        if (h.type == MT_REC_FORK)
            fmt::format_to(out, "{:<8} child pid {}\n", "fork", f.child_tgid);
        else
            fmt::format_to(out, "{:<8} tid {} stack pointer 0x{:x}\n", "thread", f.child_tid, f.child_sp);
        break;
    }
    case MT_REC_EXIT: {
        const auto e = record.as<mt_exit>();
        fmt::format_to(out, "{:<8} code {} (kernel: minflt {} majflt {})\n", "exit", e.exit_code, e.minflt,
                       e.majflt);
        break;
    }
    default: fmt::format_to(out, "type {}\n", h.type);
    }
    if (buffer_.size() > 64 * 1024)
        flush();
}

void EventPrinter::flush()
{
    size_t size = buffer_.size();
    bool ok = !size || std::fwrite(buffer_.data(), 1, size, out_) == size;
    buffer_.clear();
    if (!ok || std::fflush(out_) != 0)
        throw std::runtime_error(fmt::format("cannot write the events: {}", std::strerror(errno)));
}

}  // namespace memtrace
