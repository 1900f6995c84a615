/* The edge cases of issue "Nothing a traced program does can fool memtrace", one per mode, each
 * writing what it did as JSON to argv[2] for the root test (robustness_test.cpp) to hold memtrace to:
 *
 *   shared-mm F         a clone(CLONE_VM) child and a vfork child each map 20 pages; the parent
 *                       touches them: they are in the address space both share
 *   partial-mprotect F  mprotect over a range with a hole: ENOMEM, yet the mapped pages became
 *                       read-only; then a write to one of them (SIGSEGV, the process dies)
 *   untraced F EXE      faults the kernel counts without a tracepoint, and faults it does not
 *                       count: 1000 handled SIGSEGVs on the NULL page, MADV_POPULATE_WRITE of 100
 *                       pages, MAP_POPULATE of 50, mlock of 20, an execve of EXE that fails
 *   long-path F DIR     files at paths of 1500 bytes that end alike, mapped, touched, unmapped and
 *                       unlinked at once (the kernel's walk, not /proc, must name them)
 * THP is off: one fault per 4 KiB page. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE 4096

static FILE *report;

static void touch(volatile char *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++)
		p[i * PAGE] = 1;
}

/* ---- shared-mm ---- */

static char *clone_mapping;
static char clone_stack[64 * 1024] __attribute__((aligned(16)));

static int clone_child(void *arg)
{
	(void)arg;
	clone_mapping = mmap(NULL, 20 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int shared_mm(void)
{
	pid_t c = clone(clone_child, clone_stack + sizeof(clone_stack), CLONE_VM | SIGCHLD, NULL);
	if (c < 0 || waitpid(c, NULL, 0) != c || clone_mapping == MAP_FAILED || !clone_mapping)
		return 3;
	touch(clone_mapping, 20);
	char *volatile vfork_mapping = NULL;
	pid_t v = vfork();
	if (v == 0) {
		/* The vfork child runs in the parent's address space until it exits. */
		vfork_mapping = mmap(NULL, 20 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		_exit(0);
	}
	if (v < 0 || waitpid(v, NULL, 0) != v || vfork_mapping == MAP_FAILED || !vfork_mapping)
		return 4;
	touch(vfork_mapping, 20);
	fprintf(report, "{\"ranges\": [{\"name\": \"clone\", \"start\": %lu, \"end\": %lu},"
			" {\"name\": \"vfork\", \"start\": %lu, \"end\": %lu}]}\n",
		(unsigned long)clone_mapping, (unsigned long)clone_mapping + 20 * PAGE, (unsigned long)vfork_mapping,
		(unsigned long)vfork_mapping + 20 * PAGE);
	return 0;
}

/* ---- partial-mprotect ---- */

static int partial_mprotect(void)
{
	char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || munmap(p + PAGE, PAGE) != 0)
		return 3;
	int r = mprotect(p, 3 * PAGE, PROT_READ);
	fprintf(report, "{\"start\": %lu, \"mprotect\": %d, \"errno\": %d}\n", (unsigned long)p, r, r ? errno : 0);
	fflush(report);
	*(volatile char *)p = 1; /* the kernel made it read-only before it failed: SIGSEGV */
	return 0;
}

/* ---- untraced ---- */

static sigjmp_buf null_jump;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(null_jump, 1);
}

static int untraced(const char *not_executable)
{
	/* Faults that end in SIGSEGV: the tracepoint fires, minflt does not count them. */
	struct sigaction sa = {0};
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	volatile int landed = 0;
	for (int i = 0; i < 1000; i++) {
		if (sigsetjmp(null_jump, 1) == 0)
			*(volatile int *)(uintptr_t)(16 + (i % 64) * 8) = 1;
		else
			landed++;
	}
	signal(SIGSEGV, SIG_DFL);
	/* Faults through get_user_pages: minflt counts them, no tracepoint fires. */
	char *a = mmap(NULL, 100 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int populate = madvise(a, 100 * PAGE, MADV_POPULATE_WRITE);
	char *b = mmap(NULL, 50 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	char *c = mmap(NULL, 20 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int locked = mlock(c, 20 * PAGE);
	char *argv[] = {(char *)not_executable, "an argument or two", NULL};
	execv(not_executable, argv); /* ENOEXEC, after the arguments were copied */
	int exec_errno = errno;
	fprintf(report, "{\"signals\": %d, \"populate\": %d, \"mmap_populate\": %d, \"mlock\": %d, \"exec_errno\": %d}\n",
		landed, populate, b == MAP_FAILED ? -1 : 0, locked, exec_errno);
	return 0;
}

/* ---- long-path ---- */

/* DIR/a.../x/file and DIR/b.../x/file: 1500-byte paths whose last 400 bytes are the same. */
static int long_path(const char *base)
{
	char paths[2][2048];
	for (int k = 0; k < 2; k++) {
		size_t n = (size_t)snprintf(paths[k], sizeof paths[k], "%s/%c", base, 'a' + k);
		if (mkdir(paths[k], 0755) != 0 && errno != EEXIST)
			return 3;
		while (n < 1440) {
			n += (size_t)snprintf(paths[k] + n, sizeof paths[k] - n, "/%s", "the-same-long-directory-name");
			if (mkdir(paths[k], 0755) != 0 && errno != EEXIST)
				return 4;
		}
		snprintf(paths[k] + n, sizeof paths[k] - n, "/data.bin");
	}
	fprintf(report, "{\"files\": [");
	for (int k = 0; k < 2; k++) {
		int fd = open(paths[k], O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, 4 * PAGE) != 0)
			return 5;
		char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (p == MAP_FAILED)
			return 6;
		touch(p, 4);
		munmap(p, 4 * PAGE);
		unlink(paths[k]);
		fprintf(report, "%s\"%s\"", k ? ", " : "", paths[k]);
	}
	fprintf(report, "]}\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	report = fopen(argv[2], "w");
	if (!report)
		return 2;
	setvbuf(report, NULL, _IOLBF, 0);
	int r = 2;
	if (strcmp(argv[1], "shared-mm") == 0)
		r = shared_mm();
	else if (strcmp(argv[1], "partial-mprotect") == 0)
		r = partial_mprotect();
	else if (strcmp(argv[1], "untraced") == 0 && argc > 3)
		r = untraced(argv[3]);
	else if (strcmp(argv[1], "long-path") == 0 && argc > 3)
		r = long_path(argv[3]);
	fclose(report);
	return r;
}
