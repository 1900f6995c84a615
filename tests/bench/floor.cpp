// memtrace-floor: loads bench/floor.bpf.c for one pid and runs until SIGINT/SIGTERM or the pid
// exits, then prints what it counted. `count` or `stream` picks the program.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"

static volatile sig_atomic_t stop = 0;
static unsigned long long records = 0;

static int on_record(void*, void*, size_t)
{
    ++records;
    return 0;
}

int main(int argc, char** argv)
{
    if (argc != 3 || (strcmp(argv[1], "count") && strcmp(argv[1], "stream"))) {
        fprintf(stderr, "usage: %s count|stream PID\n", argv[0]);
        return 2;
    }
    bool stream = !strcmp(argv[1], "stream");
    int pid = atoi(argv[2]);
    signal(SIGINT, [](int) { stop = 1; });
    signal(SIGTERM, [](int) { stop = 1; });
    floor_bpf* skel = floor_bpf__open();
    if (!skel)
        return 1;
    skel->rodata->target_tgid = pid;
    bpf_program__set_autoload(stream ? skel->progs.count_faults : skel->progs.stream_faults, false);
    if (floor_bpf__load(skel) || floor_bpf__attach(skel)) {
        fprintf(stderr, "memtrace-floor: cannot load or attach\n");
        floor_bpf__destroy(skel);
        return 1;
    }
    ring_buffer* rb = stream ? ring_buffer__new(bpf_map__fd(skel->maps.records), on_record, nullptr, nullptr) : nullptr;
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    fprintf(stderr, "memtrace-floor: attached\n");
    while (!stop) {
        if (rb)
            ring_buffer__poll(rb, 100);
        else
            usleep(100000);
        pollfd p{pidfd, POLLIN, 0};
        if (pidfd >= 0 && poll(&p, 1, 0) == 1)
            break;
    }
    if (rb) {
        ring_buffer__consume(rb);
        ring_buffer__free(rb);
    } else {
        int ncpus = libbpf_num_possible_cpus();
        unsigned long long values[256] = {};
        __u32 zero = 0;
        bpf_map_lookup_elem(bpf_map__fd(skel->maps.count), &zero, values);
        for (int i = 0; i < ncpus && i < 256; ++i)
            records += values[i];
    }
    printf("floor %s counted %llu\n", argv[1], records);
    floor_bpf__destroy(skel);
    return 0;
}
