#include "model/address_space.h"

#include <algorithm>
#include <sys/mman.h>

namespace memtrace {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// What a shared-memory mapping is called in the view: the kernel's names are for machines.
std::string shm_name(const Region& r)
{
    std::string p = r.path;
    const std::string deleted = " (deleted)";
    if (p.size() > deleted.size() && p.compare(p.size() - deleted.size(), deleted.size(), deleted) == 0)
        p.resize(p.size() - deleted.size());
    if (p == "/dev/zero" || p.empty())
        return "anonymous";
    if (starts_with(p, "/memfd:"))
        return p.substr(1);
    if (starts_with(p, "/SYSV"))  // "/SYSV<key>": keys repeat (IPC_PRIVATE is 0), shmids do not
        return "SysV " + std::to_string(r.inode);
    return p;
}

// What makes two shared-memory mappings the same segment: the file (memfd, /dev/shm) or the
// SysV id; anonymous shared memory is one segment.
ObjectKey shm_key(const Region& r)
{
    if (r.path.rfind("/SYSV", 0) == 0)
        return {0, r.inode};
    return {r.dev, r.inode};
}

}  // namespace

Region region_from_maps(const MapsEntry& e)
{
    Region r;
    r.start = e.start;
    r.end = e.end;
    r.read = e.read;
    r.write = e.write;
    r.exec = e.exec;
    r.shared = e.shared;
    r.offset = e.offset;
    r.dev = kernel_dev(e.dev_major, e.dev_minor);
    r.inode = e.inode;
    r.path = e.path;
    if (e.path.empty() || starts_with(e.path, "[anon:"))
        r.kind = e.shared ? RegionKind::Shm : RegionKind::Anon;
    else if (e.path == "[heap]")
        r.kind = RegionKind::Heap;
    else if (e.path == "[stack]")
        r.kind = RegionKind::Stack;
    else if (starts_with(e.path, "[anon_shmem:"))
        r.kind = RegionKind::Shm;
    else if (e.path[0] == '[')
        r.kind = RegionKind::Special;
    else if (starts_with(e.path, "/memfd:") || starts_with(e.path, "/SYSV") || starts_with(e.path, "/dev/shm/") ||
             (e.shared && starts_with(e.path, "/dev/zero")))
        r.kind = RegionKind::Shm;
    else
        r.kind = RegionKind::File;
    return r;
}

SegmentId Region::segment_at(uint64_t addr) const
{
    if (!spans.empty()) {
        auto it = std::upper_bound(spans.begin(), spans.end(), addr,
                                   [](uint64_t a, const Span& s) { return a < s.start; });
        if (it != spans.begin() && addr < (--it)->end)
            return it->segment;
    }
    return segment;
}

void AddressSpace::load_snapshot(const std::vector<MapsEntry>& maps, uint64_t start_brk, uint64_t stack_limit)
{
    regions_.clear();
    forget_lookups();
    start_brk_ = brk_ = start_brk;
    stack_top_ = 0;
    stack_limit_ = stack_limit;
    for (const MapsEntry& e : maps) {
        Region r = region_from_maps(e);
        if (r.kind == RegionKind::Stack)
            stack_top_ = r.end;
        if (r.kind == RegionKind::Heap) {
            start_brk_ = start_brk ? start_brk : r.start;
            brk_ = r.end;
        }
        regions_.emplace(r.start, std::move(r));
    }
    const Region* previous = nullptr;
    for (auto& [start, r] : regions_) {
        classify(r, previous && previous->end == r.start ? previous : nullptr);
        previous = &r;
    }
}

void AddressSpace::clear()
{
    regions_.clear();
    forget_lookups();
    stack_top_ = 0;
}

void AddressSpace::split_at(uint64_t addr)
{
    auto it = regions_.upper_bound(addr);
    if (it == regions_.begin())
        return;
    --it;
    Region& left = it->second;
    if (addr <= left.start || addr >= left.end)
        return;
    Region right = left;
    right.start = addr;
    if (right.kind == RegionKind::File || right.kind == RegionKind::Shm)
        right.offset += addr - left.start;
    left.end = addr;
    regions_.emplace(addr, std::move(right));
}

void AddressSpace::clear_range(uint64_t start, uint64_t end)
{
    if (end <= start)  // a length that wraps around the address space: nothing the kernel did
        return;
    forget_lookups();
    split_at(start);
    split_at(end);
    auto first = regions_.lower_bound(start);
    auto last = regions_.lower_bound(end);
    regions_.erase(first, last);
}

void AddressSpace::map(Region region)
{
    region.end = page_up(region.end);
    if (region.end <= region.start)
        return;
    clear_range(region.start, region.end);
    auto [it, inserted] = regions_.emplace(region.start, std::move(region));
    reclassify_from(it);
}

void AddressSpace::reclassify_from(std::map<uint64_t, Region>::iterator it)
{
    forget_lookups();
    const Region* previous = nullptr;
    if (it != regions_.begin()) {
        auto prev = std::prev(it);
        if (prev->second.end == it->second.start)
            previous = &prev->second;
    }
    classify(it->second, previous);
    // The region after it may be the anonymous .bss tail of what was just mapped.
    auto next = std::next(it);
    if (next != regions_.end() && next->second.start == it->second.end && next->second.kind == RegionKind::Anon)
        classify(next->second, &it->second);
}

void AddressSpace::unmap(uint64_t start, uint64_t len, uint64_t started_ns)
{
    const uint64_t end = page_up(start + len);
    if (end <= start)  // wraps: no such munmap succeeds
        return;
    forget_lookups();
    split_at(start);
    split_at(end);
    for (auto it = regions_.lower_bound(start); it != regions_.end() && it->first < end;) {
        // Mapped by a call that returned after this munmap began: another thread got the address
        // once this munmap had freed it (both records are made at syscall exit, outside the mmap
        // lock, so they can arrive in the other order). It stays.
        if (it->second.mapped_ns > started_ns)
            ++it;
        else
            it = regions_.erase(it);
    }
}

void AddressSpace::protect(uint64_t start, uint64_t len, uint32_t prot)
{
    uint64_t end = page_up(start + len);
    if (end <= start)
        return;
    forget_lookups();
    split_at(start);
    split_at(end);
    for (auto it = regions_.lower_bound(start); it != regions_.end() && it->first < end; ++it) {
        it->second.read = prot & PROT_READ;
        it->second.write = prot & PROT_WRITE;
        it->second.exec = prot & PROT_EXEC;
    }
}

void AddressSpace::remap(uint64_t old_start, uint64_t old_len, uint64_t new_start, uint64_t new_len,
                         bool keep_old, uint64_t mapped_ns)
{
    old_len = page_up(old_len);
    new_len = page_up(new_len);
    if (old_start + old_len < old_start || new_start + new_len < new_start)
        return;  // wraps: no such mremap succeeds
    const Region* source = region_of(old_start);
    if (!source)
        return;  // not in the model: nothing to carry over
    Region tail = *source;  // template for growth beyond the old end
    tail.mapped_ns = mapped_ns;  // what this call maps is as new as a fresh mmap
    if (new_start == old_start) {
        if (new_len < old_len) {
            clear_range(old_start + new_len, old_start + old_len);
        } else if (new_len > old_len) {
            tail.start = old_start + old_len;
            tail.end = old_start + new_len;
            tail.offset += tail.start - source->start;
            map(tail);
        }
        return;
    }
    // Moved: carry every piece of the old range over, shifted.
    std::vector<Region> pieces;
    uint64_t old_end = old_start + std::min(old_len, new_len);
    for (auto it = std::prev(regions_.upper_bound(old_start)); it != regions_.end() && it->first < old_end; ++it) {
        Region piece = it->second;
        uint64_t lo = std::max(piece.start, old_start), hi = std::min(piece.end, old_end);
        if (lo >= hi)
            continue;
        if (piece.kind == RegionKind::File || piece.kind == RegionKind::Shm)
            piece.offset += lo - piece.start;
        piece.start = lo - old_start + new_start;
        piece.end = hi - old_start + new_start;
        piece.mapped_ns = mapped_ns;
        pieces.push_back(std::move(piece));
    }
    if (!keep_old)
        clear_range(old_start, old_start + old_len);
    for (Region& p : pieces)
        map(std::move(p));
    if (new_len > old_len) {
        tail.offset += old_start + old_len - tail.start;
        tail.start = new_start + old_len;
        tail.end = new_start + new_len;
        map(std::move(tail));
    }
}

void AddressSpace::set_brk(uint64_t start_brk, uint64_t brk)
{
    uint64_t old_end = page_up(std::max(brk_, start_brk));
    start_brk_ = start_brk;
    brk_ = brk;
    clear_range(start_brk, std::max(old_end, page_up(brk)));
    if (page_up(brk) > start_brk) {
        Region heap;
        heap.kind = RegionKind::Heap;
        heap.start = start_brk;
        heap.end = page_up(brk);
        heap.read = heap.write = true;
        heap.path = "[heap]";
        map(std::move(heap));
    }
}

void AddressSpace::label_thread_stack(uint64_t sp, uint32_t tid)
{
    auto it = regions_.upper_bound(sp - 1);
    if (it == regions_.begin())
        return;
    --it;
    Region& r = it->second;
    if (sp - 1 >= r.end || r.kind != RegionKind::Anon)
        return;
    r.thread_stack = true;
    r.tid = tid;
    classify(r, nullptr);
    forget_lookups();
}

const Region* AddressSpace::cached_lookup(uint64_t addr, const Region*& cache) const
{
    if (cache && addr >= cache->start && addr < cache->end)
        return cache;
    auto it = regions_.upper_bound(addr);
    if (it == regions_.begin())
        return nullptr;
    --it;
    if (addr >= it->second.end)
        return nullptr;
    cache = &it->second;
    return cache;
}

const Region* AddressSpace::region_of(uint64_t addr) const { return cached_lookup(addr, last_hit_); }

const Region* AddressSpace::code_region_of(uint64_t ip) const { return cached_lookup(ip, last_code_hit_); }

const Region* AddressSpace::region_above(uint64_t addr) const
{
    auto it = regions_.upper_bound(addr);
    return it == regions_.end() ? nullptr : &it->second;
}

const Region* AddressSpace::region_below(uint64_t addr) const
{
    auto it = regions_.lower_bound(addr);
    if (it == regions_.begin())
        return nullptr;
    --it;
    return it->second.end <= addr ? &it->second : nullptr;
}

const Region* AddressSpace::object_spanning(uint64_t addr, const Region* previous) const
{
    auto in_span = [addr](const Region& o) { return addr < page_up(o.elf->image_end() + o.bias); };
    if (previous && previous->elf && previous->write && in_span(*previous))
        return previous;  // the .bss tail right after the last (writable) file page
    // A PT_LOAD of its own can lie a gap away (a 2 MiB-aligned .bss), or past a PROT_NONE hole of
    // the object: the nearest object below, a few regions back at most.
    auto it = regions_.lower_bound(addr);
    for (int i = 0; i < 8 && it != regions_.begin(); ++i) {
        --it;
        if (const Region& o = it->second; o.elf)
            return in_span(o) ? &o : nullptr;
    }
    return nullptr;
}

SegmentId AddressSpace::segment_of(uint64_t addr) const
{
    if (const Region* r = region_of(addr))
        return r->segment_at(addr);
    // Below the stack's lowest page but within its limit: the kernel grows the stack there.
    if (stack_top_ && addr < stack_top_ && stack_top_ - addr <= stack_limit_)
        return stack_segment_;
    return SegmentTable::kUnmapped;
}

void AddressSpace::classify(Region& r, const Region* previous)
{
    r.spans.clear();
    r.elf.reset();
    r.bias = 0;
    std::string object;
    ObjectKey owner;
    switch (r.kind) {
    case RegionKind::Heap: r.segment = segments_.of_kind(SegmentKind::Heap); return;
    case RegionKind::Stack:
        r.segment = stack_segment_ = segments_.of_kind(SegmentKind::Stack);
        return;
    case RegionKind::Special: r.segment = segments_.of_kind(SegmentKind::Special, r.path); return;
    case RegionKind::Shm: r.segment = segments_.of_file(SegmentKind::Shm, shm_name(r), shm_key(r)); return;
    case RegionKind::File: {
        const ObjectInfo* info = r.inode ? objects_.find(r.dev, r.inode, r.path) : nullptr;
        std::shared_ptr<const ElfImage> elf = info ? info->elf : nullptr;
        std::optional<uint64_t> vaddr;
        // The mappings of one loaded object lie side by side and share one bias. Take it from the
        // neighbour when there is one: a page that two PT_LOADs share (the end of .eh_frame and
        // the start of RELRO) is ambiguous on its own once RELRO has been made read-only, and in a
        // small library it is mapped twice at the same file offset (so >=, not >).
        if (elf && previous && previous->elf == elf && r.offset >= previous->offset)
            vaddr = r.start - previous->bias;
        else if (elf)
            vaddr = elf->vaddr_of_offset(r.offset, r.write, r.exec);
        if (!vaddr) {
            r.segment = segments_.of_file(SegmentKind::File, r.path, {r.dev, r.inode});
            return;
        }
        r.elf = elf;
        r.bias = r.start - *vaddr;
        object = r.path;
        owner = {r.dev, r.inode};
        r.segment = segments_.section(owner, object, "[headers]");
        break;
    }
    case RegionKind::Anon:
        if (r.thread_stack) {
            r.segment = segments_.of_kind(SegmentKind::ThreadStack, {}, r.tid);
            return;
        }
        // Anonymous pages inside an object's PT_LOAD span are its .bss (the tail after its last
        // file page, or a PT_LOAD of its own that the kernel mapped as zero pages, even away from
        // the file mapping); an anonymous mmap that happens to follow (or merged) is not.
        if (const Region* owner_region = object_spanning(r.start, previous)) {
            r.elf = owner_region->elf;
            r.bias = owner_region->bias;
            object = owner_region->path;
            owner = {owner_region->dev, owner_region->inode};
            r.segment = segments_.of_kind(SegmentKind::Anon);
            break;
        }
        r.segment = segments_.of_kind(SegmentKind::Anon);
        return;
    }
    for (const ElfSection& s : r.elf->sections()) {
        uint64_t lo = std::max(s.addr + r.bias, r.start);
        uint64_t hi = std::min(s.addr + r.bias + s.size, r.end);
        if (lo >= hi)
            continue;
        SegmentId seg = segments_.section(owner, object, section_group(s));
        if (!r.spans.empty() && r.spans.back().segment == seg && r.spans.back().end >= lo)
            r.spans.back().end = std::max(r.spans.back().end, hi);
        else
            r.spans.push_back({lo, hi, seg});
    }
    // Alignment padding between sections belongs to the section before it, the page tail after
    // the last section to that section, and the bytes before the first one to it as well, except
    // at file offset 0, where they are the ELF header and program headers.
    for (size_t i = 0; i + 1 < r.spans.size(); ++i)
        r.spans[i].end = r.spans[i + 1].start;
    if (!r.spans.empty()) {
        r.spans.back().end = std::min(r.end, page_up(r.elf->image_end() + r.bias));
        if (r.kind != RegionKind::File || r.offset != 0)
            r.spans.front().start = r.start;
    }
    // Neighbours of one group (.dynsym, .dynstr, .gnu.hash...) are one span.
    std::vector<Region::Span> merged;
    for (const Region::Span& span : r.spans) {
        if (!merged.empty() && merged.back().segment == span.segment && merged.back().end == span.start)
            merged.back().end = span.end;
        else
            merged.push_back(span);
    }
    r.spans = std::move(merged);
}

}  // namespace memtrace
