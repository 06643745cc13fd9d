// SPDX-License-Identifier: GPL-2.0
// Flotilla node agent, kernel side (CO-RE, BTF-enabled tracepoints).
//
// 1. Run-queue latency: the time from a task becoming runnable (sched_wakeup, sched_wakeup_new, or being preempted
//    at sched_switch while still TASK_RUNNING) to it being switched in, as log2 buckets of microseconds per cgroup2 id
//    of the task (read from the task switched in; tp_btf gives the task_struct), plus a node-wide histogram.
// 2. OOM kills (optional): oom:mark_victim gives the victim's task_struct, whose cgroup2 id is taken (the tracepoint
//    runs in the killer's context, so the current task's cgroup would be wrong for a global OOM). Kernels whose
//    mark_victim passes an int pid refuse this program; the agent then runs without it. An optional fentry on
//    out_of_memory() remembers, per killing task, whether the OOM is global (oom_control.memcg == NULL).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

// bucket k: [2^k, 2^(k+1)) us for k = 0..25 (0 us lands in bucket 0); the last one, 26, holds every wait of 2^26 us
// (67 s) or more, so it is exported under +Inf only.
#define HIST_SLOTS 27
#define TASK_RUNNING_STATE 0

struct hist {
	__u64 slots[HIST_SLOTS];
	__u64 sum_ns; // nanoseconds, not truncated microseconds: the sum of many sub-microsecond waits is not 0
	__u64 count;
};

struct oom_key {
	__u64 cgroup_id;
	__u32 global_oom; // 1: global OOM, 0: memcg OOM or not known
	__u32 pad;
};

// pid -> time it became runnable (ns)
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} runnable_since SEC(".maps");

// cgroup2 id -> histogram. One shared copy with atomic adds, not one per CPU (a per-CPU hash grows with the CPU
// count): 8192 preallocated entries of 232 B, 2.4 MiB with the hash's per-entry overhead (bpftool memlock, 6.18), on
// any node. Contention is per cgroup, and a cgroup's tasks rarely switch in on two CPUs in the same instant.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct hist);
} runq_by_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} runq_node SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct oom_key);
	__type(value, __u64);
} oom_kills SEC(".maps");

// killing task's pid -> 1 if its out_of_memory() call is global, 0 if for a memcg
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} oom_scope SEC(".maps");

static __always_inline __u32 floor_log2(__u64 v)
{
	__u32 r = 0;
	// binary search over the bit positions, highest half first
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static __always_inline __u64 task_cgroup2_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

static __always_inline void mark_runnable(__u32 pid)
{
	if (pid == 0)
		return;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&runnable_since, &pid, &now, BPF_ANY);
}

static __always_inline void add_to(struct hist *h, __u32 slot, __u64 ns)
{
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	h->slots[slot]++;
	h->sum_ns += ns;
	h->count++;
}

// add_to for a histogram other CPUs update too.
static __always_inline void add_shared(struct hist *h, __u32 slot, __u64 ns)
{
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	__sync_fetch_and_add(&h->count, 1);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	mark_runnable(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	mark_runnable(BPF_CORE_READ(p, pid));
	return 0;
}

// task_struct.state was renamed __state in 5.14; CO-RE picks whichever the running kernel has.
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

// Three arguments only: the tp_btf prototype has had prev_state as a 4th argument since 5.18, not before.
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	// Preempted, or switched out while TASK_RUNNING: still on the run queue. A task preempted right after
	// set_current_state() has a non-zero state but stays queued, hence preempt too.
	if (preempt || task_state(prev) == TASK_RUNNING_STATE)
		mark_runnable(BPF_CORE_READ(prev, pid));

	__u32 pid = BPF_CORE_READ(next, pid);
	if (pid == 0)
		return 0;
	__u64 *since = bpf_map_lookup_elem(&runnable_since, &pid);
	if (!since)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 delta = now > *since ? now - *since : 0;
	bpf_map_delete_elem(&runnable_since, &pid);

	__u64 us = delta / 1000;
	__u32 slot = us ? floor_log2(us) : 0;

	__u32 zero = 0;
	struct hist *node = bpf_map_lookup_elem(&runq_node, &zero);
	if (node)
		add_to(node, slot, delta);

	__u64 cgid = task_cgroup2_id(next);
	struct hist *h = bpf_map_lookup_elem(&runq_by_cgroup, &cgid);
	if (!h) {
		struct hist empty = {};
		bpf_map_update_elem(&runq_by_cgroup, &cgid, &empty, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&runq_by_cgroup, &cgid);
		if (!h)
			return 0;
	}
	add_shared(h, slot, delta);
	return 0;
}

// Optional (the agent runs on without it): the task_struct argument exists in recent kernels only; older ones pass
// `int pid`. The victim's cgroups pointer is read directly, not with bpf_probe_read, so that the verifier checks
// that the first argument really is a task_struct and refuses the program where it is an int (the agent then
// reports flotilla_node_agent_oom_known 0) instead of counting every kill under cgroup id 0.
SEC("tp_btf/mark_victim")
int BPF_PROG(on_mark_victim, struct task_struct *victim)
{
	struct css_set *cgroups = victim->cgroups;
	struct oom_key key = {};
	key.cgroup_id = BPF_CORE_READ(cgroups, dfl_cgrp, kn, id);
	__u32 killer = (__u32)bpf_get_current_pid_tgid();
	__u32 *global = bpf_map_lookup_elem(&oom_scope, &killer);
	if (global)
		key.global_oom = *global;
	__u64 one = 1;
	__u64 *n = bpf_map_lookup_elem(&oom_kills, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&oom_kills, &key, &one, BPF_NOEXIST);
	return 0;
}

// Optional (the agent attaches it when fentry works here, and only with on_mark_victim): which kind of OOM the
// current task is handling.
SEC("fentry/out_of_memory")
int BPF_PROG(on_out_of_memory, struct oom_control *oc)
{
	__u32 killer = (__u32)bpf_get_current_pid_tgid();
	__u32 global = BPF_CORE_READ(oc, memcg) == NULL ? 1 : 0;
	bpf_map_update_elem(&oom_scope, &killer, &global, BPF_ANY);
	return 0;
}
