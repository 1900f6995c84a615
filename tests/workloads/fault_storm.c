// The benchmark's fault storm: map SIZE MiB, write every page, unmap; ROUNDS times. Prints the
// seconds the storm took (its own clock, so tracer start-up is not in the figure), the faults the
// kernel counted for it, and the CPU time it used (where a tracer's BPF programs are charged).
//
// Usage: fault_storm [--rounds N] [--mib M] [--mappings K] [--sleep-ms S] [--wait]
//   --mappings K: first create K small live mappings that do not merge (the mapping model's size)
//   --sleep-ms S: sleep S ms after each round (a steadily faulting neighbour, not a storm)
//   --wait: read one byte from stdin before the storm (lets a tracer attach first)
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/* CPU the process used (user + system): the BPF programs run in its context and count here. */
static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	int rounds = 48, mib = 64, mappings = 0, wait = 0, sleep_ms = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mappings") && i + 1 < argc)
			mappings = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--sleep-ms") && i + 1 < argc)
			sleep_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--wait"))
			wait = 1;
		else {
			fprintf(stderr, "usage: %s [--rounds N] [--mib M] [--mappings K] [--sleep-ms S] [--wait]\n", argv[0]);
			return 2;
		}
	}
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); /* one fault per 4 KiB page */
	long page = sysconf(_SC_PAGESIZE);
	/* Alternate protections so that neighbours never merge into one VMA. */
	for (int i = 0; i < mappings; i++) {
		int prot = (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE;
		if (mmap(NULL, page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
	}
	if (wait) {
		char c;
		if (read(0, &c, 1) != 1)
			return 3;
	}
	size_t len = (size_t)mib << 20;
	long f0 = faults();
	double c0 = cpu_seconds();
	double t0 = now();
	for (int r = 0; r < rounds; r++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		for (size_t off = 0; off < len; off += page)
			((volatile char *)p)[off] = 1;
		munmap(p, len);
		if (sleep_ms)
			usleep((useconds_t)sleep_ms * 1000);
	}
	double t1 = now();
	printf("seconds %.6f faults %ld cpu %.6f\n", t1 - t0, faults() - f0, cpu_seconds() - c0);
	return 0;
}
