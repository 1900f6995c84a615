// The address x time heatmap of the HTML report (damo's heatmap, drawn the way the memory-layout
// diagram is): the pictured process's segments as labelled bands in layout order (program
// sections, heap, mmap area, stacks; high addresses at the top), each band's address rows against
// the time buckets, a cell coloured by its faults on a log scale, the unmapped gaps between bands
// collapsed to a dashed strip.
#pragma once

#include <string>

#include "pipeline/pictures.h"

namespace memtrace {

// An <svg class="chart heatmap"> element. Each cell is a <rect class="cell"> with data-b (band),
// data-r (row), data-t (bucket) and data-n (faults); each band a <g class="band"> with its label.
std::string heatmap_svg(const Timeline& timeline);

}  // namespace memtrace
