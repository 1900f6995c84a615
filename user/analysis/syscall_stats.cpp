#include "analysis/syscall_stats.h"

#include "model/process_table.h"

namespace memtrace {
namespace {

constexpr size_t kMaxHistory = 3600;  // interval samples kept

}  // namespace

void SyscallStats::on_fault(const FaultEvent& e)
{
    if (!e.process)
        return;
    const AddressSpace& space = e.process->space();
    SegmentKind kind = segments_.at(e.segment).kind;
    if (kind == SegmentKind::Heap)
        heap_offsets_.add(e.fault.addr - space.start_brk());
    else if (kind == SegmentKind::Stack && space.stack_top() > e.fault.addr)
        stack_depths_.add(space.stack_top() - e.fault.addr);
}

void SyscallStats::on_mapping(const MappingEvent& e)
{
    switch (e.record.type()) {
    case MT_REC_MMAP:
        ++mmap_calls_;
        mmap_sizes_.add(mmap_of(e.record).len);
        break;
    case MT_REC_MUNMAP: ++munmap_calls_; break;
    case MT_REC_MREMAP: ++mremap_calls_; break;
    case MT_REC_MPROTECT: ++mprotect_calls_; break;
    case MT_REC_BRK: {
        const auto b = e.record.as<mt_brk>();
        ++brk_calls_;
        if (b.new_brk > b.old_brk)
            brk_grow_.add(b.new_brk - b.old_brk);
        else
            brk_shrink_.add(b.old_brk - b.new_brk);
        break;
    }
    }
}

void SyscallStats::report(Report& r, const ReportContext& context)
{
    if (const Process* first = context.processes.first()) {
        r.heap_start = first->space().start_brk();
        r.heap_size = first->space().brk() > r.heap_start ? first->space().brk() - r.heap_start : 0;
    }
    if (heap_history_.size() >= kMaxHistory)
        heap_history_.erase(heap_history_.begin());
    heap_history_.push_back(r.heap_size);
    r.heap_history = heap_history_;
    r.brk_calls = brk_calls_;
    r.mmap_calls = mmap_calls_;
    r.munmap_calls = munmap_calls_;
    r.mremap_calls = mremap_calls_;
    r.mprotect_calls = mprotect_calls_;
    r.mmap_sizes = mmap_sizes_;
    r.brk_grow = brk_grow_;
    r.brk_shrink = brk_shrink_;
    r.heap_offsets = heap_offsets_;
    r.stack_depths = stack_depths_;
}

}  // namespace memtrace
