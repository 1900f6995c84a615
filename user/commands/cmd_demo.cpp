#include "commands/cmd_demo.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "commands/cmd_trace.h"
#include "commands/seconds_option.h"

namespace memtrace {
namespace {

constexpr size_t kPage = 4096;

// The segments the demo walks through. volatile: the compiler must not skip a single touch.
char demo_bss[8 << 20];
char demo_data[256 << 10] = {1};
const char demo_rodata[256 << 10] = {1};

double g_pace = 1.0;

void pause_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(ms * 1000 * g_pace)));
}

// Touches [p, p+len) a page at a time, spread over about `ms` milliseconds.
void touch(volatile char* p, size_t len, int ms, bool write = true)
{
    size_t pages = len / kPage, step = pages / 20 + 1;
    for (size_t i = 0; i < pages; ++i) {
        if (write)
            p[i * kPage] = 1;
        else
            (void)p[i * kPage];
        if (i % step == step - 1)
            pause_ms(ms / 20);
    }
}

__attribute__((noinline)) size_t recurse(int depth)
{
    volatile char frame[16 << 10];
    for (size_t i = 0; i < sizeof(frame); i += kPage)
        frame[i] = static_cast<char>(depth);
    if (depth % 16 == 0)
        pause_ms(40);
    return depth ? recurse(depth - 1) + frame[0] : frame[0];
}

void* thread_body(void*)
{
    volatile char big[1 << 20];
    touch(big, sizeof(big), 500);
    return nullptr;
}

}  // namespace

int run_demo_workload(double pace)
{
    g_pace = pace;
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);  // show 4 KiB faults, not 2 MiB ones
    pause_ms(500);
    touch(demo_bss, sizeof(demo_bss), 1500);                          // .bss
    touch(demo_data, sizeof(demo_data), 700);                         // .data (copy-on-write)
    touch(const_cast<char*>(demo_rodata), sizeof(demo_rodata), 700, false);  // .rodata (read)
    for (int i = 0; i < 64; ++i) {                                    // heap through brk
        char* p = static_cast<char*>(sbrk(256 << 10));
        if (p == reinterpret_cast<char*>(-1))
            break;
        touch(p, 256 << 10, 0);
        pause_ms(25);
    }
    sbrk(-(8 << 20));  // give half back
    pause_ms(300);
    recurse(250);  // about 4 MiB of stack
    size_t big = 64 << 20;  // anonymous mmap
    char* a = static_cast<char*>(mmap(nullptr, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (a != MAP_FAILED) {
        touch(a, big, 1500);
        munmap(a, big);
    }
    pthread_attr_t attr;  // a thread with its own stack
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 4 << 20);
    pthread_t t;
    if (pthread_create(&t, &attr, thread_body, nullptr) == 0)
        pthread_join(t, nullptr);
    pthread_attr_destroy(&attr);
    char path[] = "/tmp/memtrace-demo-XXXXXX";  // a mapped file
    int fd = mkstemp(path);
    if (fd >= 0) {
        unlink(path);
        size_t len = 8 << 20;
        if (ftruncate(fd, static_cast<off_t>(len)) == 0) {
            char* f = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
            if (f != MAP_FAILED) {
                touch(f, len, 1000);
                munmap(f, len);
            }
        }
        close(fd);
    }
    size_t shm_len = 4 << 20;  // shared memory
    char* s = static_cast<char*>(mmap(nullptr, shm_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    if (s != MAP_FAILED) {
        touch(s, shm_len, 700);
        munmap(s, shm_len);
    }
    for (int i = 0; i < 200; ++i) {  // short-lived mappings
        char* m = static_cast<char*>(mmap(nullptr, 16 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (m == MAP_FAILED)
            break;
        touch(m, 16 * kPage, 0);
        munmap(m, 16 * kPage);
        if (i % 10 == 0)
            pause_ms(50);
    }
    pause_ms(1000);
    return 0;
}

void setup_demo_options(CLI::App& app, TraceOptions& o)
{
    app.add_option("-i,--interval", o.interval_s, "Seconds between refreshes (default 1)")->check(seconds_between(0.05, 60.0));
    app.add_flag("--json", o.json, "NDJSON instead of the live view");
    app.add_flag("--events", o.events, "One line per event instead of the live view");
    app.add_flag("--text", o.text, "Plain-text snapshots instead of the live view");
}

int run_demo(TraceOptions o)
{
    o.command = {"/proc/self/exe", "demo-workload"};
    // Resolve now: the child execs the path, and /proc/self/exe must name memtrace, not the child.
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = 0;
        o.command[0] = self;
    }
    return run_trace(o);
}

}  // namespace memtrace
