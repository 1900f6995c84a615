/* The shared library of stacks_workload.c, built the same way (-O2 -fomit-frame-pointer): a heap
 * grown through brk from inside a library. */
#include <stdlib.h>

void* stacks_lib_grow(size_t bytes, int times);

__attribute__((noinline)) static void* lib_allocate(size_t bytes)
{
    void* p = malloc(bytes);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) void* stacks_lib_grow(size_t bytes, int times)
{
    void* last = NULL;
    for (int i = 0; i < times; ++i)
        last = lib_allocate(bytes);
    return last;
}
