// Package agent joins the eBPF maps, the cgroup files and the node's Pods into the exported series.
package agent

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/flotilla/node-agent/internal/cgroupfs"
	"github.com/flotilla/node-agent/internal/expo"
	"github.com/flotilla/node-agent/internal/kube"
	"github.com/flotilla/node-agent/internal/logx"
	"github.com/flotilla/node-agent/internal/probe"
)

// BPF is what the collector reads from the kernel side (a fake in tests).
type BPF interface {
	RunqByCgroup() (map[uint64]probe.Hist, error)
	RunqNode() (probe.Hist, error)
	OOMKills() (map[probe.OOMKey]uint64, error)
	ForgetCgroup(id uint64)
	ForgetOOM(k probe.OOMKey)
	RunTimes() map[string][2]float64
}

// Retention: how long a vanished cgroup's labels (and so its OOM kill count) are kept.
const Retention = 15 * time.Minute

type containerRef struct {
	kube.Container
	Rel string // relative to the hierarchy root, starting with "/"
}

type known struct {
	ref      containerRef
	lastSeen time.Time
}

// Collector renders /metrics.
type Collector struct {
	Layout         cgroupfs.Layout
	BPF            BPF
	OOMKnown       bool // tp_btf/mark_victim attached: ebpf_exporter_oom_kills_total is exported only then
	GlobalOOMKnown bool
	StatsEnabled   bool
	Now            func() time.Time

	mu            sync.Mutex // one scrape or observation at a time
	pods          kube.Index
	podsLoaded    bool
	refreshErrors uint64
	known         map[uint64]*known // cgroup2 id -> last mapping seen
	lastScrape    float64
	fails         failureLogs
}

// failureLogs has one logger per source, so that a source failing for a while logs once when it starts, a reminder
// with a count at most every minute, and once when it ends, whatever the other sources do meanwhile.
type failureLogs struct {
	scan, runqByCgroup, runqNode, oomKills, pods *logx.Repeating
}

// track records a source's outcome.
func track(r *logx.Repeating, err error) {
	if err != nil {
		r.Fail(err)
	} else {
		r.OK()
	}
}

func New(l cgroupfs.Layout, b BPF) *Collector {
	return &Collector{Layout: l, BPF: b, Now: time.Now, known: map[uint64]*known{}, fails: failureLogs{
		scan:         &logx.Repeating{Event: "cgroup_scan"},
		runqByCgroup: &logx.Repeating{Event: "map_read_runq_by_cgroup"},
		runqNode:     &logx.Repeating{Event: "map_read_runq_node"},
		oomKills:     &logx.Repeating{Event: "map_read_oom_kills"},
		pods:         &logx.Repeating{Event: "pods_refresh"},
	}}
}

// SetPods installs a freshly listed index and records the mapping right away (a container that is OOM-killed and
// removed between two scrapes keeps its labels).
func (c *Collector) SetPods(idx kube.Index) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pods, c.podsLoaded = idx, true
	c.observe(c.Now())
}

// RefreshFailed counts a failed Pod listing.
func (c *Collector) RefreshFailed() {
	c.mu.Lock()
	c.refreshErrors++
	c.mu.Unlock()
}

type observation struct {
	mapped []containerRef
	ids    map[uint64]string // cgroup2 id -> rel (every cgroup)
	byRel  map[string]uint64
}

// observe scans the hierarchies and maps container cgroups to the Pods' containers. Caller holds c.mu.
func (c *Collector) observe(now time.Time) observation {
	dirs, ids, err := cgroupfs.Scan(c.Layout)
	track(c.fails.scan, err)
	o := observation{ids: ids, byRel: make(map[string]uint64, len(ids))}
	for id, rel := range ids {
		o.byRel[rel] = id
	}
	for _, d := range dirs {
		ct, ok := c.pods[d.ContainerID]
		if !ok || (ct.PodUID != "" && ct.PodUID != d.PodUID) {
			continue
		}
		ref := containerRef{Container: ct, Rel: d.Rel}
		o.mapped = append(o.mapped, ref)
		if id, ok := o.byRel[d.Rel]; ok {
			c.known[id] = &known{ref: ref, lastSeen: now}
		}
	}
	sort.Slice(o.mapped, func(i, j int) bool { return o.mapped[i].Rel < o.mapped[j].Rel })
	return o
}

func podLabels(r containerRef) []expo.Label {
	return []expo.Label{expo.L("namespace", r.Namespace), expo.L("pod", r.Pod), expo.L("container", r.Container.Container), expo.L("id", r.Rel)}
}

// HistogramOf converts the kernel's log2 microsecond buckets to a seconds histogram: le = 2^(k+1) us for k = 0..25.
// The last slot holds every wait of 2^26 us or more, unbounded above, so it counts toward +Inf (the count) only.
func HistogramOf(h probe.Hist) expo.Histogram {
	n := probe.Slots - 1
	out := expo.Histogram{Bounds: make([]float64, n), Counts: make([]uint64, n), Sum: float64(h.SumNs) / 1e9, Count: h.Count}
	for k := 0; k < n; k++ {
		out.Bounds[k] = float64(uint64(1)<<(k+1)) / 1e6
		out.Counts[k] = h.Slots[k]
	}
	return out
}

// Scrape renders the exposition, then writes it with the collector's lock released: a client that reads slowly, or
// never, holds up only its own request, not the next scrape nor the Pod refresh (SetPods).
func (c *Collector) Scrape(w io.Writer) error {
	_, err := w.Write(c.Render())
	return err
}

// Render builds the exposition in memory (under the collector's lock).
func (c *Collector) Render() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	s := expo.NewSet()
	now := c.Now()
	o := c.observe(now)

	c.cadvisor(s, o)

	// Forget mappings of cgroups gone for longer than the retention.
	for id, k := range c.known {
		if _, exists := o.ids[id]; !exists && now.Sub(k.lastSeen) > Retention {
			delete(c.known, id)
			for _, g := range []uint32{0, 1} {
				c.BPF.ForgetOOM(probe.OOMKey{CgroupID: id, GlobalOOM: g})
			}
		}
	}

	// Run-queue latency per mapped cgroup, and node-wide.
	rq := s.Family("ebpf_exporter_run_queue_latency_seconds", "histogram", "Run queue latency (wakeup or preemption to running) per cgroup, from sched tracepoints.")
	hists, err := c.BPF.RunqByCgroup()
	track(c.fails.runqByCgroup, err)
	if err == nil {
		ids := make([]uint64, 0, len(hists))
		for id := range hists {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			_, exists := o.ids[id]
			k := c.known[id]
			if !exists {
				if k == nil || now.Sub(k.lastSeen) > Retention {
					c.BPF.ForgetCgroup(id)
				}
				continue
			}
			if k == nil || k.lastSeen != now {
				continue // not (or no longer) a mapped container
			}
			labels := append([]expo.Label{expo.L("cgroup", filepath.Join(c.Layout.Unified, k.ref.Rel))}, podLabels(k.ref)...)
			rq.AddHistogram(HistogramOf(hists[id]), labels...)
		}
	}
	h, err := c.BPF.RunqNode()
	track(c.fails.runqNode, err)
	if err == nil {
		s.Family("flotilla_node_run_queue_latency_seconds", "histogram", "Run queue latency (wakeup or preemption to running) of every task on the node.").AddHistogram(HistogramOf(h))
	}

	c.oomKills(s, o)
	// Self metrics.
	s.Family("flotilla_node_agent_cgroups_mapped", "gauge", "Container cgroups mapped to a Pod's container at this scrape.").Add(float64(len(o.mapped)))
	s.Family("flotilla_node_agent_pods_refresh_errors_total", "counter", "Failed Pod listings.").Add(float64(c.refreshErrors))
	s.Family("flotilla_node_agent_oom_known", "gauge", "1 when OOM kills are counted (tp_btf/mark_victim attached), 0 when ebpf_exporter_oom_kills_total is not exported.").Add(b2f(c.OOMKnown))
	s.Family("flotilla_node_agent_global_oom_known", "gauge", "1 when global_oom is measured (fentry/out_of_memory attached), 0 when it is always 0.").Add(b2f(c.GlobalOOMKnown))
	s.Family("flotilla_node_agent_bpf_stats_enabled", "gauge", "1 when the kernel accounts the programs' run time (--bpf-stats).").Add(b2f(c.StatsEnabled))
	rt := s.Family("flotilla_node_agent_bpf_run_time_seconds_total", "counter", "Time the kernel spent in the agent's eBPF programs (kernel.bpf_stats; 0 without --bpf-stats).")
	rc := s.Family("flotilla_node_agent_bpf_run_count_total", "counter", "Runs of the agent's eBPF programs (kernel.bpf_stats; 0 without --bpf-stats).")
	runTimes := c.BPF.RunTimes()
	names := make([]string, 0, len(runTimes))
	for n := range runTimes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rt.Add(runTimes[n][0], expo.L("program", n))
		rc.Add(runTimes[n][1], expo.L("program", n))
	}
	c.lastScrape = time.Since(start).Seconds()
	s.Family("flotilla_node_agent_scrape_duration_seconds", "gauge", "Time this scrape took to read the maps and the cgroup files.").Add(c.lastScrape)
	var buf bytes.Buffer
	_ = s.Write(&buf) // a bytes.Buffer does not fail
	return buf.Bytes()
}

// oomKills exports the OOM kills by the victim's cgroup, kept after the cgroup is gone (for the retention). Every
// container mapped at this scrape has its series from the start, at 0 until a kill (global_oom="0"; "1" too when
// global_oom is measured), so that its first kill is an increase a rate() sees, not a series appearing at 1.
// Nothing at all without the program (flotilla_node_agent_oom_known 0): a 0 would claim that nothing was killed.
func (c *Collector) oomKills(s *expo.Set, o observation) {
	if !c.OOMKnown {
		return
	}
	oom := s.Family("ebpf_exporter_oom_kills_total", "counter", "OOM kills by the victim's cgroup, from oom:mark_victim.")
	kills, err := c.BPF.OOMKills()
	track(c.fails.oomKills, err)
	if err != nil {
		return
	}
	counts := map[probe.OOMKey]uint64{}
	scopes := []uint32{0}
	if c.GlobalOOMKnown {
		scopes = append(scopes, 1)
	}
	for _, ref := range o.mapped {
		if id, ok := o.byRel[ref.Rel]; ok {
			for _, g := range scopes {
				counts[probe.OOMKey{CgroupID: id, GlobalOOM: g}] = 0
			}
		}
	}
	for key, n := range kills {
		if c.known[key.CgroupID] == nil {
			if _, exists := o.ids[key.CgroupID]; !exists {
				c.BPF.ForgetOOM(key) // unmapped and gone: nobody will ever label it
			}
			continue
		}
		counts[key] = n
	}
	keys := make([]probe.OOMKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].CgroupID != keys[j].CgroupID {
			return keys[i].CgroupID < keys[j].CgroupID
		}
		return keys[i].GlobalOOM < keys[j].GlobalOOM
	})
	for _, key := range keys {
		k := c.known[key.CgroupID]
		labels := append([]expo.Label{expo.L("cgroup_path", filepath.Join(c.Layout.Unified, k.ref.Rel)), expo.L("global_oom", strconv.Itoa(int(key.GlobalOOM)))}, podLabels(k.ref)...)
		oom.Add(float64(counts[key]), labels...)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *Collector) cadvisor(s *expo.Set, o observation) {
	type fam struct {
		name, typ, help string
		get             func(*cgroupfs.Stats) cgroupfs.Value
	}
	fams := []fam{
		{"container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.CPUUsageSeconds }},
		{"container_cpu_cfs_periods_total", "counter", "Number of elapsed enforcement period intervals.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.CFSPeriods }},
		{"container_cpu_cfs_throttled_periods_total", "counter", "Number of throttled period intervals.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.CFSThrottledPeriods }},
		{"container_cpu_cfs_throttled_seconds_total", "counter", "Total time duration the container has been throttled.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.CFSThrottledSeconds }},
		{"container_memory_working_set_bytes", "gauge", "Current working set in bytes.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.MemoryWorkingSet }},
		{"container_memory_usage_bytes", "gauge", "Current memory usage in bytes, including all memory regardless of when it was accessed.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.MemoryUsage }},
		{"container_spec_cpu_quota", "gauge", "CPU quota of the container.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.CPUQuota }},
		{"container_spec_cpu_period", "gauge", "CPU period of the container.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.CPUPeriod }},
		{"container_spec_memory_limit_bytes", "gauge", "Memory limit for the container.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.MemoryLimit }},
		{"container_oom_events_total", "counter", "Count of out of memory events observed for the container", func(x *cgroupfs.Stats) cgroupfs.Value { return x.OOMEvents }},
		{"container_pressure_cpu_waiting_seconds_total", "counter", "Total time duration tasks in the container have waited due to CPU congestion.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.CPUWaiting }},
		{"container_pressure_cpu_stalled_seconds_total", "counter", "Total time duration no tasks in the container could make progress due to CPU congestion.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.CPUStalled }},
		{"container_pressure_memory_waiting_seconds_total", "counter", "Total time duration tasks in the container have waited due to memory congestion.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.MemoryWaiting }},
		{"container_pressure_memory_stalled_seconds_total", "counter", "Total time duration no tasks in the container could make progress due to memory congestion.", func(x *cgroupfs.Stats) cgroupfs.Value { return x.MemoryStalled }},
	}
	families := make([]*expo.Family, len(fams))
	for i, f := range fams {
		families[i] = s.Family(f.name, f.typ, f.help)
	}
	for _, ref := range o.mapped {
		st := cgroupfs.Read(c.Layout, ref.Rel)
		labels := podLabels(ref)
		for i, f := range fams {
			if v := f.get(&st); v.OK {
				families[i].Add(v.V, labels...)
			}
		}
	}
}

// Jitter spreads a period by ±10%: u in [0, 1) maps to [0.9, 1.1) x d. Agents started together (a DaemonSet
// rollout) then drift apart instead of listing Pods from the API server in the same instant for ever.
func Jitter(d time.Duration, u float64) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*u))
}

// RefreshPods lists the Pods about every interval (jittered, ±10%) until ctx ends.
func (c *Collector) RefreshPods(ctx context.Context, src kube.Source, every time.Duration) {
	rep := c.fails.pods
	last := -1
	for {
		data, err := src.PodList(ctx)
		var idx kube.Index
		var n int
		if err == nil {
			idx, n, err = kube.ParsePodList(data)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.RefreshFailed()
			rep.Fail(err)
		} else {
			rep.OK()
			c.SetPods(idx)
			if n != last {
				logx.Info("pods_listed", logx.F{"pods": n, "containers": len(idx), "source": src.String()})
				last = n
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(Jitter(every, rand.Float64())):
		}
	}
}
