/* A .bss that is a PT_LOAD of its own: 2 MiB-aligned, so the linker gives it a segment with no file
 * bytes and the kernel maps it as zero pages a gap away from the file's last mapping. Touches 64
 * pages of it, one fault each (THP off). */
#include <sys/prctl.h>

static char aligned_bss[8 << 20] __attribute__((aligned(2 << 20)));

int main(void)
{
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    for (int i = 0; i < 64; i++)
        ((volatile char *)aligned_bss)[i * 4096] = 1;
    return 0;
}
