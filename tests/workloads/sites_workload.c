/* Faults in functions with known names, for the fault-site, stack and RSS root tests:
 *   touch_bss_pages   writes 256 pages of .bss
 *   touch_heap_pages  writes 128 pages of a malloc'd block (brk heap)
 *   lib_touch_pages   (in libsites_lib.so) writes 64 pages of an anonymous mapping
 *   hold_anon         writes 32 MiB of anonymous memory and keeps it for 0.3 s (RSS peak)
 * Built with frame pointers so that the kernel can walk its stacks. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

size_t lib_touch_pages(size_t pages);

#define BSS_PAGES 256
static char bss_block[BSS_PAGES * 4096] __attribute__((aligned(4096))); /* no page shared with .data */

__attribute__((noinline)) void touch_bss_pages(void)
{
    for (size_t i = 0; i < BSS_PAGES; i++)
        ((volatile char *)bss_block)[i * 4096] = 1;
}

__attribute__((noinline)) void touch_heap_pages(void)
{
    /* One brk-heap block (the mmap threshold raised above it), touched a page at a time from its
     * first page boundary: malloc's own header lies on the page before. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    char *p = malloc(129 * 4096);
    volatile char *base = (char *)(((uintptr_t)p + 4095) & ~(uintptr_t)4095);
    for (size_t i = 0; i < 128; i++)
        base[i * 4096] = 1;
}

__attribute__((noinline)) void hold_anon(void)
{
    size_t size = 32u << 20;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    memset(p, 1, size);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    munmap(p, size);
}

int main(void)
{
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); /* one fault per 4 KiB page */
    touch_bss_pages();
    touch_heap_pages();
    lib_touch_pages(64);
    hold_anon();
    return 0;
}
