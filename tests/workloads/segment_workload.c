// A workload whose page touches per segment are known exactly. It prints one JSON object with the
// address range, page count and expected segment of every phase, plus the kernel's own fault
// count (getrusage) around each phase, so the root tests can check memtrace fault by fault.
//
// Usage: segment_workload OUT.json [--wait-fd N]
//   --wait-fd N: read one byte from fd N before starting (the -p test attaches first).
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096
#define BSS_PAGES 64
#define DATA_PAGES 16
#define RODATA_PAGES 32
#define HEAP_PAGES 64
#define STACK_PAGES 64
#define THREAD_PAGES 32
#define ANON_PAGES 64
#define FILE_PAGES 32
#define SHM_PAGES 32
#define MEMFD_PAGES 16
#define SYSV_PAGES 16
#define SHORT_MAPS 200
#define SHORT_PAGES 4
#define KERNEL_PAGES 8

static char bss_array[BSS_PAGES * PAGE] __attribute__((aligned(PAGE)));
char data_array[DATA_PAGES * PAGE] __attribute__((aligned(PAGE))) = {1};
const char rodata_array[RODATA_PAGES * PAGE] __attribute__((aligned(PAGE))) = {1};

static FILE *out;
static int first_phase = 1;
static char *marker;

// Phase boundary that memtrace records: an mprotect of a dedicated page. The tests split the
// event stream at these, so that two phases reusing one address range are never confused.
static void mark(void)
{
	mprotect(marker, PAGE, PROT_READ | PROT_WRITE);
}

static long faults_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

// One phase: [start, end) touched a page at a time; `expect` is the segment memtrace must report.
static void report(const char *name, const void *start, size_t pages, const char *expect, long kernel_faults,
		   const char *mode)
{
	fprintf(out, "%s\n  {\"name\": \"%s\", \"start\": %lu, \"end\": %lu, \"pages\": %zu, \"segment\": \"%s\", "
		"\"kernel_faults\": %ld, \"mode\": \"%s\"}",
		first_phase ? "" : ",", name, (unsigned long)start, (unsigned long)start + pages * PAGE, pages, expect,
		kernel_faults, mode);
	first_phase = 0;
}

static void write_pages(volatile char *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++)
		p[i * PAGE] = 1;
}

static void read_pages(volatile const char *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++)
		(void)p[i * PAGE];
}

// Warms the code of the helpers so that their own first-use faults do not land inside a phase.
static void warm_up(void)
{
	static char scratch[PAGE];
	write_pages(scratch, 1);
	read_pages(scratch, 1);
	faults_now();
}

static __attribute__((noinline)) void stack_phase(void)
{
	volatile char frame[(STACK_PAGES + 2) * PAGE];
	// Touch whole pages strictly inside the frame, from the top down, the way a stack grows.
	uintptr_t lo = ((uintptr_t)frame + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	char *first = (char *)lo;
	long before = faults_now();
	for (int i = STACK_PAGES - 1; i >= 0; i--)
		first[(size_t)i * PAGE] = 1;
	report("stack", first, STACK_PAGES, "stack", faults_now() - before, "user");
	frame[0] = 0;
}

struct thread_result {
	pid_t tid;
	void *start;
	long kernel_faults;
};

static void *thread_body(void *arg)
{
	struct thread_result *r = arg;
	volatile char frame[(THREAD_PAGES + 2) * PAGE];
	uintptr_t lo = ((uintptr_t)frame + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	char *first = (char *)lo;
	r->tid = (pid_t)syscall(SYS_gettid);
	struct rusage ru0, ru1;
	getrusage(RUSAGE_THREAD, &ru0);
	for (int i = THREAD_PAGES - 1; i >= 0; i--)
		first[(size_t)i * PAGE] = 1;
	getrusage(RUSAGE_THREAD, &ru1);
	r->start = first;
	r->kernel_faults = (ru1.ru_minflt + ru1.ru_majflt) - (ru0.ru_minflt + ru0.ru_majflt);
	frame[0] = 0;
	return NULL;
}

static char *map_anon(size_t pages, int flags)
{
	char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUT.json [--wait-fd N]\n", argv[0]);
		return 2;
	}
	if (argc >= 4 && strcmp(argv[2], "--wait-fd") == 0) {
		char c;
		if (read(atoi(argv[3]), &c, 1) != 1)
			return 3;
	}
	// One fault per 4 KiB page: no transparent huge pages for this process.
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	char exe[256];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	char seg[300];
	warm_up();
	marker = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fprintf(out, "{\"pid\": %d, \"marker\": %lu, \"phases\": [", getpid(), (unsigned long)marker);

	mark();
	long before = faults_now();
	write_pages(bss_array, BSS_PAGES);
	snprintf(seg, sizeof(seg), "%s .bss", base);
	report("bss", bss_array, BSS_PAGES, seg, faults_now() - before, "user");

	mark();
	before = faults_now();
	write_pages(data_array, DATA_PAGES);
	snprintf(seg, sizeof(seg), "%s .data", base);
	report("data", data_array, DATA_PAGES, seg, faults_now() - before, "user");

	// Read faults on a cached file page map up to 16 pages around it (fault-around): fewer faults
	// than pages. The kernel's count for the phase is the truth memtrace must match.
	mark();
	before = faults_now();
	read_pages(rodata_array, RODATA_PAGES);
	snprintf(seg, sizeof(seg), "%s .rodata", base);
	report("rodata", rodata_array, RODATA_PAGES, seg, faults_now() - before, "user");

	char *heap = sbrk(HEAP_PAGES * PAGE + PAGE);
	char *heap_first = (char *)(((uintptr_t)heap + PAGE - 1) & ~(uintptr_t)(PAGE - 1));
	mark();
	before = faults_now();
	write_pages(heap_first, HEAP_PAGES);
	report("heap", heap_first, HEAP_PAGES, "heap", faults_now() - before, "user");

	mark();
	stack_phase();

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1 << 20);
	pthread_t thread;
	struct thread_result tr = {0};
	mark();
	pthread_create(&thread, &attr, thread_body, &tr);
	pthread_join(thread, NULL);
	snprintf(seg, sizeof(seg), "stack:%d", tr.tid);
	report("thread_stack", tr.start, THREAD_PAGES, seg, tr.kernel_faults, "user");

	char *anon = map_anon(ANON_PAGES, MAP_PRIVATE);
	mark();
	before = faults_now();
	write_pages(anon, ANON_PAGES);
	report("anon", anon, ANON_PAGES, "anon", faults_now() - before, "user");

	// A file whose pages are not in the page cache: every fault reads from disk (major).
	// MADV_RANDOM turns read-ahead off; write faults on a private mapping do no fault-around.
	char path[] = "/var/tmp/memtrace-workload-XXXXXX";
	int fd = mkstemp(path);
	static char block[FILE_PAGES * PAGE];
	memset(block, 7, sizeof(block));
	if (fd < 0 || write(fd, block, sizeof(block)) != (ssize_t)sizeof(block) || fsync(fd) != 0) {
		perror("file");
		return 1;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	char *file = mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	madvise(file, FILE_PAGES * PAGE, MADV_RANDOM);
	mark();
	before = faults_now();
	write_pages(file, FILE_PAGES);
	snprintf(seg, sizeof(seg), "file %s", path);
	report("file", file, FILE_PAGES, seg, faults_now() - before, "user");
	munmap(file, FILE_PAGES * PAGE);
	close(fd);
	unlink(path);

	char *shm = map_anon(SHM_PAGES, MAP_SHARED);
	mark();
	before = faults_now();
	write_pages(shm, SHM_PAGES);
	report("shm", shm, SHM_PAGES, "shm anonymous", faults_now() - before, "user");

	int mfd = memfd_create("workload", 0);
	if (mfd < 0 || ftruncate(mfd, MEMFD_PAGES * PAGE) != 0) {
		perror("memfd");
		return 1;
	}
	char *memfd = mmap(NULL, MEMFD_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	mark();
	before = faults_now();
	write_pages(memfd, MEMFD_PAGES);
	report("memfd", memfd, MEMFD_PAGES, "shm memfd:workload", faults_now() - before, "user");

	int shmid = shmget(IPC_PRIVATE, SYSV_PAGES * PAGE, IPC_CREAT | 0600);
	char *sysv = shmid >= 0 ? shmat(shmid, NULL, 0) : (char *)-1;
	if (sysv == (char *)-1) {
		perror("shmat");
		return 1;
	}
	shmctl(shmid, IPC_RMID, NULL);
	mark();
	before = faults_now();
	write_pages(sysv, SYSV_PAGES);
	snprintf(seg, sizeof(seg), "shm SysV %d", shmid);
	report("sysv", sysv, SYSV_PAGES, seg, faults_now() - before, "user");
	shmdt(sysv);

	// Mappings that live for microseconds: attributed from the mmap record, not /proc.
	mark();
	before = faults_now();
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < SHORT_MAPS; i++) {
		char *p = map_anon(SHORT_PAGES, MAP_PRIVATE);
		write_pages(p, SHORT_PAGES);
		munmap(p, SHORT_PAGES * PAGE);
		if ((uintptr_t)p < lo)
			lo = (uintptr_t)p;
		if ((uintptr_t)p + SHORT_PAGES * PAGE > hi)
			hi = (uintptr_t)p + SHORT_PAGES * PAGE;
	}
	long short_faults = faults_now() - before;
	fprintf(out, ",\n  {\"name\": \"short_lived\", \"start\": %lu, \"end\": %lu, \"pages\": %d, \"segment\": \"anon\", "
		"\"kernel_faults\": %ld, \"mode\": \"user\"}", (unsigned long)lo, (unsigned long)hi,
		SHORT_MAPS * SHORT_PAGES, short_faults);

	// Faults the kernel takes on our behalf: read() into fresh pages.
	char *kbuf = map_anon(KERNEL_PAGES, MAP_PRIVATE);
	int zero = open("/dev/zero", O_RDONLY);
	mark();
	before = faults_now();
	if (read(zero, kbuf, KERNEL_PAGES * PAGE) != KERNEL_PAGES * PAGE) {
		perror("read");
		return 1;
	}
	report("kernel_mode", kbuf, KERNEL_PAGES, "anon", faults_now() - before, "kernel");
	close(zero);

	mark();
	fprintf(out, "\n]}\n");
	fclose(out);
	return 0;
}
