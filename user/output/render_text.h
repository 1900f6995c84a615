// Plain-text rendering of a Report: the per-interval snapshot when stdout is not a terminal, and
// the final summary. Histograms use the layout of bcc's print_log2_hist.
#pragma once

#include <ostream>
#include <string>

#include "pipeline/histogram.h"
#include "pipeline/report.h"

namespace memtrace {

void render_log2_histogram(std::ostream& out, const Log2Histogram& h, const std::string& unit);
void render_text(std::ostream& out, const Report& report);

// Sections of render_text, each empty when the report has nothing for it.
void render_rss(std::ostream& out, const Report& r);
void render_sites(std::ostream& out, const Report& r);
void render_latency(std::ostream& out, const Report& r);
void render_stacks(std::ostream& out, const Report& r);
void render_crashes(std::ostream& out, const Report& r);

}  // namespace memtrace
