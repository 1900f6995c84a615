#include "analysis/crash_reports.h"

#include "analysis/crash_explainer.h"
#include "model/process_table.h"

namespace memtrace {

void CrashReports::on_signal(const SignalEvent& e)
{
    if (crashes_.size() >= kMaxCrashes)
        return;
    const mt_signal& s = e.signal;
    CrashExplanation why = explain_crash(s, e.process.space(), segments_, e.process.unmapped(), origin_ns_);
    CrashRow row;
    row.pid = s.hdr.tgid;
    row.tid = s.hdr.tid;
    row.time_s = s.hdr.ts_ns > origin_ns_ ? (s.hdr.ts_ns - origin_ns_) / 1e9 : 0;
    row.signal = signal_name(s.signo);
    row.code = signal_code_name(s.signo, s.code);
    row.kind = crash_kind_name(why.kind);
    row.explanation = std::move(why.summary);
    row.addr = s.addr;
    row.ip = s.ip;
    row.location = s.code > 0 ? locator_.name(e.process.memory, s.ip, true) : std::string();
    if (s.disposition == MT_SIG_HANDLED)
        row.explanation += "; the process has a handler for it and may survive";
    else if (s.disposition == MT_SIG_IGNORED)
        row.explanation += "; the process ignores it (the kernel still kills it for a fault it cannot retry)";
    crashes_.push_back(std::move(row));
}

}  // namespace memtrace
