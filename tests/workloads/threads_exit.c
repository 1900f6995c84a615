// Exits (exit_group from main) while its threads are still alive and have faulted: the kernel's
// per-process fault count at exit must include every thread's faults, not just the last one's.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define THREADS 4
#define PAGES 64

static pthread_barrier_t touched;

static void *body(void *arg)
{
	(void)arg;
	char *p = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; p != MAP_FAILED && i < PAGES; i++)
		p[i * 4096] = 1;
	pthread_barrier_wait(&touched);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_barrier_init(&touched, NULL, THREADS + 1);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, body, NULL);
	pthread_barrier_wait(&touched);
	exit(0);
}
