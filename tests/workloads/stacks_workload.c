/* Known call chains for the --stacks root tests (tests/root/stacks_test.cpp), built -O2
 * -fomit-frame-pointer like the binaries people run (and -fno-optimize-sibling-calls, -fno-inline,
 * so that each function is a frame). One mode per argument:
 *   brk      grow_a -> grow_b -> grow_c -> malloc, 64 KiB blocks: the heap grows through brk
 *   lib      grow_a -> (libstacks_lib.so) stacks_lib_grow -> lib_allocate -> malloc, through brk
 *   mmap     map_a -> map_d -> malloc(8 MiB): one mmap
 *   deep     deep_1 -> ... -> deep_8 -> touch_fresh_pages: 256 faults on fresh anonymous pages
 *   recurse  recurse(400) with 256-byte frames, the deepest touches 64 fresh pages: far deeper
 *            than the 8 KiB of stack memtrace copies
 *   kread    read_a -> read(2) from /dev/zero into 16 fresh pages: faults taken in the kernel,
 *            whose stack is the system call's
 *   jit      generates code into an executable anonymous mapping, names it in
 *            /tmp/perf-PID.map, and calls it from jit_caller: 32 faults in the generated code
 * It prints what the test checks against as JSON: {"brk_grown":N} and the like. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

void* stacks_lib_grow(size_t bytes, int times);

#define NOINLINE __attribute__((noinline))
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

enum {
    kBlock = 64 << 10,
    kBlocks = 32,
    kFresh = 256,
    kRecursion = 400,
    kRecursionPages = 64,
    kReadPages = 16,
    kJitPages = 32
};

NOINLINE void grow_c(int times)
{
    for (int i = 0; i < times; ++i) {
        void* p = malloc(kBlock);
        KEEP(p);
    }
}
NOINLINE void grow_b(int times) { grow_c(times); }
NOINLINE void grow_a(int times) { grow_b(times); }

NOINLINE void* map_d(size_t bytes)
{
    void* p = malloc(bytes);
    KEEP(p);
    return p;
}
NOINLINE void* map_a(size_t bytes) { return map_d(bytes); }

NOINLINE void touch_fresh_pages(char* pages, int n)
{
    for (int i = 0; i < n; ++i)
        pages[(size_t)i * 4096] = 1;
    KEEP(pages);
}
NOINLINE void deep_8(char* p) { touch_fresh_pages(p, kFresh); KEEP(p); }
NOINLINE void deep_7(char* p) { deep_8(p); KEEP(p); }
NOINLINE void deep_6(char* p) { deep_7(p); KEEP(p); }
NOINLINE void deep_5(char* p) { deep_6(p); KEEP(p); }
NOINLINE void deep_4(char* p) { deep_5(p); KEEP(p); }
NOINLINE void deep_3(char* p) { deep_4(p); KEEP(p); }
NOINLINE void deep_2(char* p) { deep_3(p); KEEP(p); }
NOINLINE void deep_1(char* p) { deep_2(p); KEEP(p); }

NOINLINE int recurse(char* pages, int depth)
{
    volatile char frame[256];  // each level's frame is at least this big
    frame[0] = (char)depth;
    if (depth == 0) {
        touch_fresh_pages(pages, kRecursionPages);
        return frame[0];
    }
    return recurse(pages, depth - 1) + frame[0];
}

static char* fresh_pages(int n);

NOINLINE void read_a(int fd)
{
    char* p = fresh_pages(kReadPages);
    if (read(fd, p, (size_t)kReadPages * 4096) != (ssize_t)kReadPages * 4096) {
        perror("read");
        exit(1);
    }
    KEEP(p);
}

static char* fresh_pages(int n)
{
    char* p = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

/* x86-64: push rbp; mov rbp,rsp; loop { test rsi,rsi; jz done; mov byte [rdi],1; add rdi,4096;
 * dec rsi; jmp loop }; done: pop rbp; ret. A frame pointer, as JITs keep one. */
static const unsigned char kTouchCode[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x85, 0xf6, 0x74, 0x0f, 0xc6, 0x07, 0x01, 0x48,
                                           0x81, 0xc7, 0x00, 0x10, 0x00, 0x00, 0x48, 0xff, 0xce, 0xeb, 0xec, 0x5d, 0xc3};

NOINLINE void jit_caller(void (*code)(char*, long), char* pages)
{
    code(pages, kJitPages);
    KEEP(pages);
}

static void run_jit(void)
{
    unsigned char* code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    memcpy(code + 0x100, kTouchCode, sizeof kTouchCode);
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
    FILE* map = fopen(path, "w");
    if (!map) {
        perror(path);
        exit(1);
    }
    fprintf(map, "%lx %zx jit_touch_pages\n", (unsigned long)(uintptr_t)(code + 0x100), sizeof kTouchCode);
    fclose(map);
    jit_caller((void (*)(char*, long))(code + 0x100), fresh_pages(kJitPages));
    printf("{\"jit_code\":%lu,\"perf_map\":\"%s\"}\n", (unsigned long)(uintptr_t)(code + 0x100), path);
}

int main(int argc, char** argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s brk|lib|mmap|deep|recurse|kread|jit\n", argv[0]);
        return 2;
    }
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);  // one fault a page
    mallopt(M_TOP_PAD, 0);                 // the heap grows by what each malloc needs
    mallopt(M_TRIM_THRESHOLD, 1 << 30);    // and is not given back in between
    mallopt(M_MMAP_THRESHOLD, 1 << 20);    // 64 KiB blocks from the heap, 8 MiB ones by mmap
    const char* mode = argv[1];
    uintptr_t before = (uintptr_t)sbrk(0);
    if (!strcmp(mode, "brk"))
        grow_a(kBlocks);
    else if (!strcmp(mode, "lib"))
        KEEP(stacks_lib_grow(kBlock, kBlocks));
    else if (!strcmp(mode, "mmap"))
        KEEP(map_a(8 << 20));
    else if (!strcmp(mode, "deep"))
        deep_1(fresh_pages(kFresh));
    else if (!strcmp(mode, "recurse"))
        KEEP((void*)(intptr_t)recurse(fresh_pages(kRecursionPages), kRecursion));
    else if (!strcmp(mode, "kread")) {
        FILE* zero = fopen("/dev/zero", "r");
        if (!zero)
            return 1;
        read_a(fileno(zero));
    } else if (!strcmp(mode, "jit"))
        run_jit();
    else
        return 2;
    if (strcmp(mode, "jit"))
        printf("{\"brk_grown\":%lu}\n", (unsigned long)((uintptr_t)sbrk(0) - before));
    return 0;
}
