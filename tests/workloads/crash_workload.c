/* Crashes in the way argv[1] names, from a function named crash_<kind>, for the crash-explanation
 * root tests. With argv[2], waits until that file exists first (so memtrace -p can attach).
 * Kinds: null stack-overflow thread-stack-overflow write-rodata write-text exec-heap exec-stack
 *        use-after-unmap never-mapped sigbus */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char rodata_message[] = "read-only";

__attribute__((noinline)) void crash_null(void)
{
    *(volatile int *)0x10 = 1;
}

/* Recursion without end is the point: it overflows the stack. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) int crash_stack_overflow(int depth)
{
    volatile char frame[4096];
    frame[0] = (char)depth;
    return crash_stack_overflow(depth + 1) + frame[0];
}
#pragma GCC diagnostic pop

static void *thread_recurse(void *arg)
{
    (void)arg;
    crash_stack_overflow(0);
    return NULL;
}

__attribute__((noinline)) void crash_thread_stack_overflow(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_t t;
    pthread_create(&t, &attr, thread_recurse, NULL);
    pthread_join(t, NULL);
}

__attribute__((noinline)) void crash_write_rodata(const char *target)
{
    *(volatile char *)target = 'X';
}

__attribute__((noinline)) void crash_write_text(void)
{
    *(volatile char *)(uintptr_t)&crash_write_text = 0;
}

__attribute__((noinline)) void crash_exec_heap(void)
{
    unsigned char *code = malloc(64);
    code[0] = 0xc3; /* ret */
    ((void (*)(void))code)();
}

__attribute__((noinline)) void crash_exec_stack(void)
{
    volatile unsigned char code[64];
    code[0] = 0xc3;
    ((void (*)(void))(uintptr_t)code)();
}

__attribute__((noinline)) void crash_use_after_unmap(void)
{
    volatile char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 1;
    munmap((void *)p, 1 << 20);
    p[4096] = 2;
}

__attribute__((noinline)) void crash_never_mapped(void)
{
    *(volatile int *)(uintptr_t)0x200000000000ULL = 1;
}

__attribute__((noinline)) void crash_sigbus(void)
{
    char path[] = "/tmp/memtrace-sigbus-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        exit(3);
    volatile char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    p[0] = 1;
    p[4096] = 1; /* beyond the end of the file */
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (argc >= 3) {
        struct stat st;
        while (stat(argv[2], &st) != 0)
            usleep(10 * 1000);
    }
    const char *k = argv[1];
    if (!strcmp(k, "null")) crash_null();
    else if (!strcmp(k, "stack-overflow")) crash_stack_overflow(0);
    else if (!strcmp(k, "thread-stack-overflow")) crash_thread_stack_overflow();
    else if (!strcmp(k, "write-rodata")) crash_write_rodata(rodata_message);
    else if (!strcmp(k, "write-text")) crash_write_text();
    else if (!strcmp(k, "exec-heap")) crash_exec_heap();
    else if (!strcmp(k, "exec-stack")) crash_exec_stack();
    else if (!strcmp(k, "use-after-unmap")) crash_use_after_unmap();
    else if (!strcmp(k, "never-mapped")) crash_never_mapped();
    else if (!strcmp(k, "sigbus")) crash_sigbus();
    else return 2;
    return 1; /* did not crash */
}
