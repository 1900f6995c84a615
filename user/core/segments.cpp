#include "segments.h"

#include <fmt/format.h>

namespace memtrace {

const char* kind_name(SegmentKind kind)
{
    switch (kind) {
    case SegmentKind::Unmapped: return "unmapped";
    case SegmentKind::Section: return "section";
    case SegmentKind::Heap: return "heap";
    case SegmentKind::Stack: return "stack";
    case SegmentKind::ThreadStack: return "thread_stack";
    case SegmentKind::Anon: return "anon";
    case SegmentKind::File: return "file";
    case SegmentKind::Shm: return "shm";
    case SegmentKind::Special: return "special";
    }
    return "?";
}

std::string base_name(const std::string& path)
{
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

SegmentTable::SegmentTable()
{
    intern({SegmentKind::Unmapped, "unmapped", {}, {}, 0});
}

SegmentId SegmentTable::intern(SegmentInfo info)
{
    auto it = by_label_.find(info.label);
    if (it != by_label_.end())
        return it->second;
    // A long trace meets new threads, files and objects without end: past a bound, new ones of
    // a kind share one segment, so memtrace's memory stays flat.
    const bool thread_stack = info.kind == SegmentKind::ThreadStack && info.tid;
    if ((thread_stack && thread_stacks_ >= kMaxThreadStacks) || segments_.size() >= kMaxSegments) {
        SegmentInfo shared;
        shared.kind = info.kind;
        shared.label = thread_stack ? "thread stacks" : fmt::format("{} (more than memtrace keeps apart)", kind_name(info.kind));
        auto found = by_label_.find(shared.label);
        if (found != by_label_.end())
            return found->second;
        SegmentId id = static_cast<SegmentId>(segments_.size());
        by_label_.emplace(shared.label, id);
        segments_.push_back(std::move(shared));
        return id;
    }
    thread_stacks_ += thread_stack;
    SegmentId id = static_cast<SegmentId>(segments_.size());
    by_label_.emplace(info.label, id);
    segments_.push_back(std::move(info));
    return id;
}

SegmentId SegmentTable::section(const std::string& object, const std::string& group)
{
    return intern({SegmentKind::Section, fmt::format("{} {}", base_name(object), group), object, group, 0});
}

SegmentId SegmentTable::of_kind(SegmentKind kind, const std::string& name, uint32_t tid)
{
    std::string label;
    switch (kind) {
    case SegmentKind::Unmapped: return kUnmapped;
    case SegmentKind::Heap: label = "heap"; break;
    case SegmentKind::Stack: label = "stack"; break;
    case SegmentKind::ThreadStack: label = tid ? fmt::format("stack:{}", tid) : "thread stacks"; break;
    case SegmentKind::Anon: label = "anon"; break;
    case SegmentKind::File: label = fmt::format("file {}", name); break;
    case SegmentKind::Shm: label = fmt::format("shm {}", name); break;
    case SegmentKind::Special: label = name; break;
    case SegmentKind::Section: return section(name, "[headers]");
    }
    return intern({kind, label, name, {}, tid});
}

}  // namespace memtrace
