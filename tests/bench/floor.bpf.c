// SPDX-License-Identifier: GPL-2.0
// The benchmark's floor: the least BPF that does each job on the page-fault tracepoint.
//   count_faults:  a per-CPU counter for one process (what "perf stat -e page-faults" buys)
//   stream_faults: a 32-byte ring-buffer record per fault, consumer woken per 1/16 ring
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
const volatile __u64 wakeup_bytes = 1 << 20;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} records SEC(".maps");

struct record {
	__u32 tgid, tid;
	__u64 ts, addr, flags;
};

SEC("tp_btf/page_fault_user")
int BPF_PROG(count_faults, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&count, &zero);
	if (c)
		*c += 1;
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(stream_faults, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((pid_tgid >> 32) != target_tgid)
		return 0;
	struct record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r)
		return 0;
	r->tgid = pid_tgid >> 32;
	r->tid = (__u32)pid_tgid;
	r->ts = bpf_ktime_get_ns();
	r->addr = address;
	r->flags = error_code;
	__u64 flags = bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
										     : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(r, flags);
	return 0;
}
