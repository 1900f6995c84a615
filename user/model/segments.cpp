#include "model/segments.h"

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
    intern("unmapped", {SegmentKind::Unmapped, "unmapped", {}, {}, {}, 0});
}

SegmentId SegmentTable::intern(std::string identity, SegmentInfo info)
{
    auto it = by_identity_.find(identity);
    if (it != by_identity_.end())
        return it->second;
    // A long trace meets new threads, files and objects without end: past a bound, new ones of
    // a kind share one segment, so memtrace's memory stays flat.
    const bool thread_stack = info.kind == SegmentKind::ThreadStack && info.tid;
    if ((thread_stack && thread_stacks_ >= kMaxThreadStacks) || segments_.size() >= kMaxSegments) {
        SegmentInfo shared;
        shared.kind = info.kind;
        shared.label = thread_stack ? "thread stacks" : fmt::format("{} (more than memtrace keeps apart)", kind_name(info.kind));
        auto found = by_identity_.find(shared.label);
        if (found != by_identity_.end())
            return found->second;
        SegmentId id = static_cast<SegmentId>(segments_.size());
        by_identity_.emplace(shared.label, id);
        segments_.push_back(std::move(shared));
        return id;
    }
    thread_stacks_ += thread_stack;
    SegmentId id = static_cast<SegmentId>(segments_.size());
    by_identity_.emplace(std::move(identity), id);
    segments_.push_back(std::move(info));
    return id;
}

const std::string& SegmentTable::object_name(const ObjectKey& key, const std::string& path, const std::string& shown)
{
    auto id = std::make_tuple(key, path, shown);
    auto it = object_names_.find(id);
    if (it != object_names_.end())
        return it->second;
    int& users = names_used_[shown];
    ++users;
    return object_names_.emplace(std::move(id), users == 1 ? shown : fmt::format("{} ({})", shown, users))
        .first->second;
}

namespace {

// Device, inode and path: an inode number freed by unlink is the next new file's, so the path is
// part of what an object is (one file under two paths is then two objects, which is what it
// reads as to the user anyway).
std::string identity_of(char kind, const ObjectKey& key, const std::string& path, const std::string& part)
{
    return fmt::format("{}{}:{}\n{}\n{}", kind, key.dev, key.ino, path, part);
}

}  // namespace

SegmentId SegmentTable::section(const ObjectKey& key, const std::string& path, const std::string& group)
{
    std::string identity = identity_of('S', key, path, group);
    if (auto it = by_identity_.find(identity); it != by_identity_.end())
        return it->second;
    std::string label = fmt::format("{} {}", object_name(key, path, base_name(path)), group);
    return intern(std::move(identity), {SegmentKind::Section, std::move(label), path, group, key, 0});
}

SegmentId SegmentTable::of_file(SegmentKind kind, const std::string& name, const ObjectKey& key)
{
    std::string identity = identity_of(kind == SegmentKind::Shm ? 'M' : 'F', key, name, {});
    if (auto it = by_identity_.find(identity); it != by_identity_.end())
        return it->second;
    const char* prefix = kind == SegmentKind::Shm ? "shm" : "file";
    std::string label = fmt::format("{} {}", prefix, object_name(key, name, name));
    return intern(std::move(identity), {kind, std::move(label), name, {}, key, 0});
}

SegmentId SegmentTable::of_kind(SegmentKind kind, const std::string& name, uint32_t tid)
{
    std::string label;
    switch (kind) {
    case SegmentKind::Unmapped:
        if (name.empty())
            return kUnmapped;
        label = name;  // a kind of "nowhere" that says why
        break;
    case SegmentKind::Heap: label = "heap"; break;
    case SegmentKind::Stack: label = "stack"; break;
    case SegmentKind::ThreadStack: label = tid ? fmt::format("stack:{}", tid) : "thread stacks"; break;
    case SegmentKind::Anon: label = "anon"; break;
    case SegmentKind::File:
    case SegmentKind::Shm: return of_file(kind, name, {});
    case SegmentKind::Special: label = name; break;
    case SegmentKind::Section: return section({}, name, "[headers]");
    }
    std::string identity = label;
    return intern(std::move(identity), {kind, std::move(label), name, {}, {}, tid});
}

}  // namespace memtrace
