/* A shared library whose function faults: fault sites must name it (tests/root/forensics_test.cpp). */
#include <stddef.h>
#include <sys/mman.h>

__attribute__((noinline)) size_t lib_touch_pages(size_t pages)
{
    volatile char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    for (size_t i = 0; i < pages; i++)
        p[i * 4096] = 1;
    munmap((void *)p, pages * 4096);
    return pages;
}
