/* A 32-bit (ia32) program, built with -m32: its mapping calls use the ia32 numbers and registers
 * (mmap2, munmap, brk, mprotect, mremap). Maps 16 pages and touches them, grows the heap by 64 KiB
 * through brk and touches it, remaps a mapping to a new place and touches it there: none of those
 * faults may land in "unmapped". Writes the ranges to argv[1]. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define PAGE 4096

static void touch(volatile char *p, int pages)
{
    for (int i = 0; i < pages; i++)
        p[i * PAGE] = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    char *m = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 3;
    touch(m, 16);
    char *heap = sbrk(0);
    if (sbrk(16 * PAGE) == (void *)-1)
        return 4;
    touch(heap + PAGE, 14);
    char *moved = mremap(m, 16 * PAGE, 32 * PAGE, MREMAP_MAYMOVE);
    if (moved == MAP_FAILED)
        return 5;
    touch(moved + 16 * PAGE, 16);
    munmap(moved, 32 * PAGE);
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 6;
    fprintf(f, "{\"mmap\": %lu, \"heap\": %lu, \"moved\": %lu}\n", (unsigned long)m, (unsigned long)heap,
            (unsigned long)moved);
    fclose(f);
    return 0;
}
