// A small trace through the real pipeline for the tests of the HTML page and the Perfetto trace:
// one process with a heap, an anonymous mapping, a file with a hostile name and a stack; faults in
// each over 6 ms, a thread, brk, mmap, munmap, resident memory samples and a crash.
#pragma once

#include <cstddef>
#include <string>

#include "test_trace.h"

namespace memtrace_test {

constexpr uint32_t kPicturesPid = 300, kPicturesThread = 301;
constexpr uint64_t kPicturesHeap = 0x555555559000, kPicturesHeapEnd = 0x55555557a000;
constexpr uint64_t kPicturesAnon = 0x7f0000000000, kPicturesFile = 0x7f0000100000;
constexpr uint64_t kPicturesStackTop = 0x7ffffffff000;
// A file name and a comm made to break out of markup, and a byte that is not UTF-8.
inline const std::string kHostileFile = "/tmp/<script>alert(1)</script>]]>&amp;\xff.dat";
inline const std::string kHostileComm = "<b>app</b>\xfe";

inline memtrace::Report pictures_report()
{
    FakeSource source;
    source.set_maps(kPicturesPid,
                    "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
                    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
                    "7f0000100000-7f0000104000 r--p 00000000 fe:00 4242                       " +
                        kHostileFile +
                        "\n"
                        "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n");
    TestTrace trace(source);
    trace.attach(kPicturesPid, kHostileComm);
    auto at = [](double ms) { return TestTrace::kOrigin + static_cast<uint64_t>(ms * 1e6); };
    auto fault = [&](double ms, uint64_t addr, uint32_t tid = kPicturesPid) {
        auto f = make_fault(kPicturesPid, tid, addr);
        f.hdr.ts_ns = at(ms);
        trace.feed(f);
    };
    trace.set_rss(kPicturesPid, {100, 50, 10, 0, 160});
    for (int i = 0; i < 8; ++i)
        fault(0.2 + 0.1 * i, kPicturesHeap + 4096 * i);
    for (int i = 0; i < 20; ++i)
        fault(1.5 + 0.05 * i, kPicturesAnon + 4096 * i, i % 2 ? kPicturesThread : kPicturesPid);
    fault(2.5, kPicturesFile);
    fault(2.6, kPicturesFile + 4096);
    fault(3.1, kPicturesStackTop - 100);

    auto b = make_record<mt_brk>(MT_REC_BRK, kPicturesPid, kPicturesPid, at(3.5));
    b.start_brk = kPicturesHeap;
    b.old_brk = kPicturesHeapEnd;
    b.new_brk = kPicturesHeapEnd + 0x21000;
    trace.feed(b);
    auto m = make_record<mt_mmap>(MT_REC_MMAP, kPicturesPid, kPicturesThread, at(4.2));
    m.addr = 0x7f1000000000;
    m.len = 0x4000;
    m.prot = 3;
    m.mflags = 0x22;
    m.fd = -1;
    trace.handle(&m, offsetof(mt_mmap, path));
    fault(4.3, 0x7f1000000000);
    auto u = make_record<mt_munmap>(MT_REC_MUNMAP, kPicturesPid, kPicturesPid, at(4.6));
    u.addr = 0x7f1000000000;
    u.len = 0x4000;
    u.enter_ns = at(4.6);
    trace.feed(u);
    auto s = make_record<mt_signal>(MT_REC_SIGNAL, kPicturesPid, kPicturesPid, at(5.2));
    s.signo = 11;
    s.code = 1;
    s.addr = 0x10;
    trace.feed(s);
    return trace.report(0.006, 0, true);
}

}  // namespace memtrace_test
