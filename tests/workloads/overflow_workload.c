/* Faults faster than a stopped consumer can read them, in two known segments, for the overload
 * root test: waits until argv[1] exists, then writes 4096 pages of .bss and 32768 pages of an
 * anonymous mapping, one fault each (THP off). */
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BSS_PAGES 4096
#define ANON_PAGES 32768
static char bss_block[BSS_PAGES * 4096] __attribute__((aligned(4096)));

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    struct stat st;
    while (stat(argv[1], &st) != 0)
        usleep(10 * 1000);
    for (size_t i = 0; i < BSS_PAGES; i++)
        ((volatile char *)bss_block)[i * 4096] = 1;
    volatile char *p = mmap(NULL, (size_t)ANON_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 3;
    for (size_t i = 0; i < ANON_PAGES; i++)
        p[i * 4096] = 1;
    return 0;
}
