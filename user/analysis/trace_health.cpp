#include "analysis/trace_health.h"

namespace memtrace {

void TraceHealth::report(Report& r, const ReportContext&)
{
    r.kernel_counted_faults = counters_.value[MT_CNT_FAULTS];
    r.dropped = counters_.value[MT_CNT_DROPPED];
    r.overflow_faults = overflow_faults_;
    r.overflow_lost = counters_.value[MT_CNT_OVERFLOW_LOST];
}

}  // namespace memtrace
