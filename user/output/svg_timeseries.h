// The time charts of the HTML report, all on the heatmap's time axis: heap size and resident
// memory, faults per segment, and the address-space calls and crashes as markers.
#pragma once

#include <string>
#include <vector>

#include "pipeline/pictures.h"
#include "pipeline/report.h"

namespace memtrace {

// <svg class="chart memory">: one step line per series (<polyline class="series" data-series=
// "heap|anon|file|shmem">), the heap of the pictured process, resident memory of all.
std::string memory_svg(const Timeline& timeline);
// <svg class="chart segment-faults">: stacked bars per bucket (<rect class="bar" data-s=SERIES
// data-t=BUCKET data-n=FAULTS>), one colour per segment, with a legend.
std::string segment_faults_svg(const Timeline& timeline);
// <svg class="chart markers">: a row per call kind with its count per bucket (<rect class="count"
// data-kind data-t data-n>), and a mark per exec and per crash (<g class="marker exec|crash">)
// whose title says what happened.
std::string markers_svg(const Timeline& timeline, const std::vector<CrashRow>& crashes);

}  // namespace memtrace
