// The soak test's target (scripts/soak.sh): churns everything memtrace keeps state for, forever
// (until killed, or for --seconds S): short anonymous mappings (mmap, write, mprotect, mremap,
// munmap), brk growth and shrink, threads that start, fault on their stacks and exit, and forked
// children that fault and exit. A tracer that leaks per mapping, per thread or per process grows
// without bound here.
//
// Usage: churn [--seconds S] [--quiet] [--only mappings|brk|threads|children]
//   Prints one line every 10 s: rounds, mappings, threads and children so far (not with --quiet).
//   --only: churn just one kind of state (to find which one a tracer leaks on).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define MAPS_PER_ROUND 32
#define THREAD_PAGES 8
#define CHILD_EVERY 10 /* rounds between forked children */

static void write_pages(volatile char *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++)
		p[i * PAGE] = 1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *thread_body(void *arg)
{
	(void)arg;
	volatile char frame[(THREAD_PAGES + 1) * PAGE];
	for (int i = THREAD_PAGES; i >= 0; i--)
		frame[(size_t)i * PAGE] = 1;
	(void)frame[0];
	/* A private mapping of its own, too: made and dropped by a thread that is about to go. */
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		write_pages(p, 4);
		munmap(p, 4 * PAGE);
	}
	return NULL;
}

static void mappings_round(unsigned round)
{
	for (int i = 0; i < MAPS_PER_ROUND; i++) {
		size_t pages = 1 + (round + i) % 8;
		char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		write_pages(p, pages);
		if (i % 4 == 1 && pages > 1)
			mprotect(p, PAGE, PROT_READ); /* splits the mapping in the model */
		if (i % 4 == 2) {
			char *q = mremap(p, pages * PAGE, (pages + 4) * PAGE, MREMAP_MAYMOVE);
			if (q != MAP_FAILED) {
				write_pages(q + pages * PAGE, 4);
				p = q;
				pages += 4;
			}
		}
		munmap(p, pages * PAGE);
	}
}

static void brk_round(unsigned round)
{
	size_t grow = (size_t)(1 + round % 16) * PAGE * 4;
	char *old = sbrk(0);
	if (sbrk(grow) == (void *)-1)
		return;
	char *first = (char *)(((uintptr_t)old + PAGE - 1) & ~(uintptr_t)(PAGE - 1));
	write_pages(first, (old + grow - first) / PAGE);
	sbrk(-(intptr_t)grow);
}

static void child_round(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *p = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			write_pages(p, 16);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	double seconds = 0;
	int quiet = 0;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--quiet"))
			quiet = 1;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--seconds S] [--quiet] [--only mappings|brk|threads|children]\n",
				argv[0]);
			return 2;
		}
	}
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	double start = now(), next_line = start + 10;
	unsigned long rounds = 0, threads = 0, children = 0;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (unsigned round = 0;; round++) {
		if (!only || !strcmp(only, "mappings"))
			mappings_round(round);
		if (!only || !strcmp(only, "brk"))
			brk_round(round);
		pthread_t t;
		if ((!only || !strcmp(only, "threads")) && pthread_create(&t, &attr, thread_body, NULL) == 0) {
			pthread_join(t, NULL);
			threads++;
		}
		if ((!only || !strcmp(only, "children")) && round % CHILD_EVERY == 0) {
			child_round();
			children++;
		}
		rounds++;
		struct timespec pause = {0, 5 * 1000 * 1000};
		nanosleep(&pause, NULL);
		double t_now = now();
		if (!quiet && t_now >= next_line) {
			printf("churn %.0fs: %lu rounds, %lu mappings, %lu threads, %lu children\n", t_now - start, rounds,
			       rounds * MAPS_PER_ROUND, threads, children);
			next_line += 10;
		}
		if (seconds > 0 && t_now - start >= seconds)
			break;
	}
	return 0;
}
