// The target's life, step by step, for the lifecycle root tests: it exits, execs, forks many
// children, churns short mappings, or just keeps faulting. Every mode first prints
//   id PID HOSTPID
// (getpid() and the pid /proc/self names: they differ in another pid namespace, since /proc is
// the host's mount) and reports what it touched together with the kernel's own count (getrusage).
// Output is line-buffered, so a test can watch a running target's progress.
//
// Usage: lifecycle_workload [--wait-fd N] MODE ARGS...
//   --wait-fd N                 after the id line, read one byte from fd N (lets a tracer attach
//                               with -p while the target takes no faults)
//   touch PAGES                 map PAGES, write each: "range START END FAULTS"
//   spin ITERATIONS PAGES MS    ITERATIONS (0: forever) times map PAGES, write each, unmap, print
//                               "tick I", sleep MS; then "done FAULTS" (faults of the loop)
//   exec PAGES PROGRAM ARGS...  write PAGES of .bss ("bss START END FAULTS"), then exec PROGRAM
//   thread-exec PAGES PROGRAM ARGS...
//                               the same from a second thread, while the main thread waits in
//                               pthread_join (the kernel turns the exec'ing thread into the leader)
//   fork CHILDREN PAGES PARALLEL FILE
//                               CHILDREN children (at most PARALLEL alive at once), each maps
//                               PAGES, writes each and appends "child PID START END FAULTS TOTAL"
//                               to FILE (FAULTS: of the touch, TOTAL: since fork); then "done N"
//   threads COUNT PAGES MS      COUNT threads one after the other, each writes PAGES pages of its
//                               stack, maps, writes and unmaps 4 pages, and exits; "threads I"
//                               after every 1000, then "done COUNT"; MS: sleep after every 100
//   churn COUNT PAGES [THREADS] COUNT times map PAGES, write each, unmap: "churn FAULTS"; with
//                               THREADS, split between that many threads running at once
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define BSS_MAX_PAGES 256

static char bss_pages[BSS_MAX_PAGES * PAGE] __attribute__((aligned(PAGE)));

static long faults_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void write_pages(volatile char *p, long pages)
{
	for (long i = 0; i < pages; i++)
		p[i * PAGE] = 1;
}

static char *map_pages(long pages)
{
	char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--wait-fd N] touch|spin|exec|fork|churn ARGS... (see the source)\n", argv0);
	return 2;
}

static int mode_touch(long pages)
{
	char *p = map_pages(pages);
	long before = faults_now();
	write_pages(p, pages);
	long faults = faults_now() - before;
	printf("range %lu %lu %ld\n", (unsigned long)p, (unsigned long)p + pages * PAGE, faults);
	return 0;
}

static int mode_spin(long iterations, long pages, long ms)
{
	long faults = 0;
	for (long i = 0; iterations == 0 || i < iterations; i++) {
		long before = faults_now();
		char *p = map_pages(pages);
		write_pages(p, pages);
		munmap(p, pages * PAGE);
		faults += faults_now() - before;
		printf("tick %ld\n", i);
		if (ms)
			sleep_ms(ms);
	}
	printf("done %ld\n", faults);
	return 0;
}

static int mode_exec(long pages, char **argv)
{
	if (pages > BSS_MAX_PAGES)
		pages = BSS_MAX_PAGES;
	long before = faults_now();
	write_pages(bss_pages, pages);
	long faults = faults_now() - before;
	printf("bss %lu %lu %ld\n", (unsigned long)bss_pages, (unsigned long)bss_pages + pages * PAGE, faults);
	fflush(stdout);
	execv(argv[0], argv);
	perror(argv[0]);
	return 127;
}

struct exec_args {
	long pages;
	char **argv;
};

static void *exec_thread(void *arg)
{
	struct exec_args *a = arg;
	exit(mode_exec(a->pages, a->argv));
}

static int mode_thread_exec(long pages, char **argv)
{
	struct exec_args a = {pages, argv};
	pthread_t t;
	if (pthread_create(&t, NULL, exec_thread, &a) != 0)
		return 1;
	pthread_join(t, NULL);
	return 1; /* not reached: the exec replaces every thread */
}

static void child_body(long pages, int fd)
{
	char *p = map_pages(pages);
	long before = faults_now();
	write_pages(p, pages);
	long after = faults_now();
	char line[128];
	int n = snprintf(line, sizeof(line), "child %d %lu %lu %ld %ld\n", getpid(), (unsigned long)p,
			 (unsigned long)p + pages * PAGE, after - before, after);
	if (write(fd, line, n) != n)
		_exit(1);
	_exit(0);
}

static int mode_fork(long children, long pages, long parallel, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	fflush(stdout); /* nothing buffered for the children to flush again */
	long alive = 0, failed = 0;
	for (long i = 0; i < children; i++) {
		if (alive >= parallel) {
			int status;
			if (wait(&status) > 0) {
				alive--;
				failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
			}
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			child_body(pages, fd);
		alive++;
	}
	int status;
	while (wait(&status) > 0)
		failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	close(fd);
	printf("done %ld\n", children);
	return failed ? 1 : 0;
}

struct churn_args {
	long count, pages;
};

static void *churn_body(void *arg)
{
	const struct churn_args *a = arg;
	for (long i = 0; i < a->count; i++) {
		char *p = map_pages(a->pages);
		write_pages(p, a->pages);
		munmap(p, a->pages * PAGE);
	}
	return NULL;
}

static void *short_thread(void *arg)
{
	long pages = *(long *)arg;
	volatile char frame[64 * PAGE];
	for (long i = pages < 64 ? pages - 1 : 63; i >= 0; i--)
		frame[i * PAGE] = 1;
	char *p = map_pages(4);
	write_pages(p, 4);
	munmap(p, 4 * PAGE);
	(void)frame[0];
	return NULL;
}

static int mode_threads(long count, long pages, long ms)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	for (long i = 1; i <= count; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, short_thread, &pages) != 0)
			return 1;
		pthread_join(t, NULL);
		if (i % 1000 == 0)
			printf("threads %ld\n", i);
		if (ms && i % 100 == 0)
			sleep_ms(ms);
	}
	printf("done %ld\n", count);
	return 0;
}

static int mode_churn(long count, long pages, long threads)
{
	struct churn_args a = {count / threads, pages};
	pthread_t t[64];
	if (threads < 1 || threads > 64)
		return 2;
	/* With threads, FAULTS includes their start-up faults (stack, TLS): a few per thread. */
	long before = faults_now();
	if (threads == 1) {
		churn_body(&a);
	} else {
		for (long i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, churn_body, &a);
		for (long i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
	}
	printf("churn %ld\n", faults_now() - before);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1, wait_fd = -1;
	if (i + 1 < argc && strcmp(argv[i], "--wait-fd") == 0) {
		wait_fd = atoi(argv[i + 1]);
		i += 2;
	}
	if (i >= argc)
		return usage(argv[0]);
	/* One fault per 4 KiB page: no transparent huge pages for this process (or its children). */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	char self[32] = "";
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	printf("id %d %s\n", getpid(), self); /* before the gate: a test learns the host pid here */
	if (wait_fd >= 0) {
		char c;
		if (read(wait_fd, &c, 1) != 1)
			return 3;
		close(wait_fd);
	}

	const char *mode = argv[i];
	int left = argc - i - 1;
	char **args = argv + i + 1;
	if (strcmp(mode, "touch") == 0 && left == 1)
		return mode_touch(atol(args[0]));
	if (strcmp(mode, "spin") == 0 && left == 3)
		return mode_spin(atol(args[0]), atol(args[1]), atol(args[2]));
	if (strcmp(mode, "exec") == 0 && left >= 2)
		return mode_exec(atol(args[0]), args + 1);
	if (strcmp(mode, "thread-exec") == 0 && left >= 2)
		return mode_thread_exec(atol(args[0]), args + 1);
	if (strcmp(mode, "fork") == 0 && left == 4)
		return mode_fork(atol(args[0]), atol(args[1]), atol(args[2]), args[3]);
	if (strcmp(mode, "threads") == 0 && left == 3)
		return mode_threads(atol(args[0]), atol(args[1]), atol(args[2]));
	if (strcmp(mode, "churn") == 0 && (left == 2 || left == 3))
		return mode_churn(atol(args[0]), atol(args[1]), left == 3 ? atol(args[2]) : 1);
	return usage(argv[0]);
}
