#include "pipeline/pictures.h"

namespace memtrace {

const char* layout_area_name(LayoutArea area)
{
    switch (area) {
    case LayoutArea::Program: return "program";
    case LayoutArea::Heap: return "heap";
    case LayoutArea::MmapArea: return "mmap area";
    case LayoutArea::Stacks: return "stacks";
    case LayoutArea::Kernel: return "kernel";
    case LayoutArea::Unmapped: return "unmapped";
    }
    return "?";
}

LayoutArea layout_area_of(SegmentKind kind, bool program)
{
    switch (kind) {
    case SegmentKind::Section: return program ? LayoutArea::Program : LayoutArea::MmapArea;
    case SegmentKind::Heap: return LayoutArea::Heap;
    case SegmentKind::Stack:
    case SegmentKind::ThreadStack: return LayoutArea::Stacks;
    case SegmentKind::Anon:
    case SegmentKind::File:
    case SegmentKind::Shm: return LayoutArea::MmapArea;
    case SegmentKind::Special: return LayoutArea::Kernel;
    case SegmentKind::Unmapped: return LayoutArea::Unmapped;
    }
    return LayoutArea::Unmapped;
}

const char* marker_kind_name(Timeline::MarkerKind kind)
{
    switch (kind) {
    case Timeline::MarkerKind::Mmap: return "mmap";
    case Timeline::MarkerKind::Munmap: return "munmap";
    case Timeline::MarkerKind::Brk: return "brk";
    case Timeline::MarkerKind::Exec: return "exec";
    case Timeline::MarkerKind::Crash: return "crash";
    }
    return "?";
}

}  // namespace memtrace
