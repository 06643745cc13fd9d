package agent

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla/node-agent/internal/cgroupfs"
	"github.com/flotilla/node-agent/internal/expo"
	"github.com/flotilla/node-agent/internal/kube"
	"github.com/flotilla/node-agent/internal/logx"
	"github.com/flotilla/node-agent/internal/probe"
)

type fakeBPF struct {
	runq                     map[uint64]probe.Hist
	oom                      map[probe.OOMKey]uint64
	forgotten                []uint64
	runqErr, nodeErr, oomErr error
}

func (f *fakeBPF) RunqByCgroup() (map[uint64]probe.Hist, error) { return f.runq, f.runqErr }
func (f *fakeBPF) RunqNode() (probe.Hist, error) {
	var h probe.Hist
	h.Slots[0], h.Count, h.SumNs = 3, 3, 2000
	return h, f.nodeErr
}
func (f *fakeBPF) OOMKills() (map[probe.OOMKey]uint64, error) { return f.oom, f.oomErr }
func (f *fakeBPF) ForgetCgroup(id uint64)                     { f.forgotten = append(f.forgotten, id); delete(f.runq, id) }
func (f *fakeBPF) ForgetOOM(k probe.OOMKey)                   { delete(f.oom, k) }
func (f *fakeBPF) RunTimes() map[string][2]float64 {
	return map[string][2]float64{"on_switch": {0.5, 10}}
}

func mk(t *testing.T, dir string) uint64 {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

const podList = `{"items":[{"metadata":{"name":"web-1","namespace":"shop","uid":"u-1"},
 "status":{"containerStatuses":[{"name":"app","containerID":"containerd://cid1"}],
           "initContainerStatuses":[{"name":"init","containerID":"containerd://cid0"}]}}]}`

func TestScrapeMapsLabelsAndKeepsOOMAfterRemoval(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), nil, 0o644)
	rel := "/scenario-1/kubepods/podu-1/cid1"
	appID := mk(t, filepath.Join(root, rel))
	os.WriteFile(filepath.Join(root, rel, "cpu.stat"), []byte("usage_usec 2000000\nnr_periods 5\nnr_throttled 1\nthrottled_usec 1000\n"), 0o644)
	otherID := mk(t, filepath.Join(root, "system.slice/sshd.service"))
	strangerID := mk(t, filepath.Join(root, "/scenario-1/kubepods/podu-9/cidX")) // a pod not on the list
	l, err := cgroupfs.Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	var h probe.Hist
	h.Slots[0], h.Slots[3], h.Count, h.SumNs = 2, 1, 3, 12345
	f := &fakeBPF{
		runq: map[uint64]probe.Hist{appID: h, otherID: h, strangerID: h, 999999: h},
		oom:  map[probe.OOMKey]uint64{{CgroupID: appID}: 1, {CgroupID: otherID}: 4},
	}
	c := New(l, f)
	c.OOMKnown = true
	clock := time.Unix(1000, 0)
	c.Now = func() time.Time { return clock }
	idx, _, err := kube.ParsePodList([]byte(podList))
	if err != nil {
		t.Fatal(err)
	}
	c.SetPods(idx)
	var b strings.Builder
	if err := c.Scrape(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	labels := `namespace="shop",pod="web-1",container="app",id="` + rel + `"`
	for _, want := range []string{
		`container_cpu_usage_seconds_total{` + labels + `} 2`,
		`container_cpu_cfs_throttled_periods_total{` + labels + `} 1`,
		`ebpf_exporter_run_queue_latency_seconds_bucket{cgroup="` + root + rel + `",` + labels + `,le="2e-06"} 2`,
		`ebpf_exporter_run_queue_latency_seconds_bucket{cgroup="` + root + rel + `",` + labels + `,le="8e-06"} 2`,
		`ebpf_exporter_run_queue_latency_seconds_bucket{cgroup="` + root + rel + `",` + labels + `,le="1.6e-05"} 3`,
		`ebpf_exporter_run_queue_latency_seconds_bucket{cgroup="` + root + rel + `",` + labels + `,le="+Inf"} 3`,
		`ebpf_exporter_run_queue_latency_seconds_sum{cgroup="` + root + rel + `",` + labels + `} 1.2345e-05`,
		`ebpf_exporter_oom_kills_total{cgroup_path="` + root + rel + `",global_oom="0",` + labels + `} 1`,
		`flotilla_node_run_queue_latency_seconds_count 3`,
		`flotilla_node_agent_cgroups_mapped 1`,
		`flotilla_node_agent_oom_known 1`,
		`flotilla_node_agent_bpf_run_time_seconds_total{program="on_switch"} 0.5`,
		"# TYPE ebpf_exporter_run_queue_latency_seconds histogram",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(out, "sshd") || strings.Contains(out, "cidX") {
		t.Errorf("unmapped cgroups exported:\n%s", out)
	}
	if len(f.forgotten) != 1 || f.forgotten[0] != 999999 {
		t.Errorf("forgotten %v, want the vanished unknown cgroup only", f.forgotten)
	}

	// The container is OOM-killed and its cgroup removed: the count stays, with its labels, for the retention.
	os.Remove(filepath.Join(root, rel, "cpu.stat"))
	if err := os.Remove(filepath.Join(root, rel)); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(10 * time.Minute)
	b.Reset()
	c.Scrape(&b)
	if !strings.Contains(b.String(), `ebpf_exporter_oom_kills_total{cgroup_path="`+root+rel+`",global_oom="0",`+labels+`} 1`) {
		t.Errorf("OOM count lost 10 minutes after the cgroup went:\n%s", b.String())
	}
	if strings.Contains(b.String(), "container_cpu_usage_seconds_total{") {
		t.Errorf("a removed cgroup still has cAdvisor series")
	}
	clock = clock.Add(Retention)
	b.Reset()
	c.Scrape(&b)
	if strings.Contains(b.String(), "ebpf_exporter_oom_kills_total{") {
		t.Errorf("OOM count kept past the retention")
	}
	if _, ok := f.oom[probe.OOMKey{CgroupID: appID}]; ok {
		t.Errorf("the kernel map entry was not dropped")
	}
}

func TestHistogramBounds(t *testing.T) {
	h := HistogramOf(probe.Hist{})
	if len(h.Bounds) != 26 || h.Bounds[0] != 2e-6 || h.Bounds[25] != float64(uint64(1)<<26)/1e6 {
		t.Fatalf("bounds %v", h.Bounds)
	}
}

// The last slot holds waits of 2^26 us (67 s) or more: it counts toward +Inf only, never under a finite le. The sum
// is kept in nanoseconds.
func TestHistogramLastSlotOnlyInInf(t *testing.T) {
	var h probe.Hist
	h.Slots[25], h.Slots[26], h.Count, h.SumNs = 1, 2, 3, 1500
	s := expo.NewSet()
	s.Family("x", "histogram", "").AddHistogram(HistogramOf(h))
	var b strings.Builder
	s.Write(&b)
	out := b.String()
	for _, want := range []string{`x_bucket{le="67.108864"} 1`, `x_bucket{le="+Inf"} 3`, `x_count 3`, `x_sum 1.5e-06`} {
		if !strings.Contains(out, "\n"+want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(out, "134.217728") {
		t.Errorf("a bucket above 2^26 us:\n%s", out)
	}
}

// A kernel that refused tp_btf/mark_victim: the run-queue series as usual, no OOM kill series at all (a 0 would
// claim that nothing was killed), and flotilla_node_agent_oom_known 0.
func TestScrapeWithoutOOMProgram(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), nil, 0o644)
	rel := "/scenario-1/kubepods/podu-1/cid1"
	appID := mk(t, filepath.Join(root, rel))
	l, err := cgroupfs.Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	var h probe.Hist
	h.Slots[0], h.Count = 1, 1
	c := New(l, &fakeBPF{runq: map[uint64]probe.Hist{appID: h}, oom: map[probe.OOMKey]uint64{}})
	idx, _, err := kube.ParsePodList([]byte(podList))
	if err != nil {
		t.Fatal(err)
	}
	c.SetPods(idx)
	var b strings.Builder
	if err := c.Scrape(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "\nflotilla_node_agent_oom_known 0\n") || !strings.Contains(out, "ebpf_exporter_run_queue_latency_seconds_count{") {
		t.Errorf("want oom_known 0 and the run-queue histogram:\n%s", out)
	}
	if strings.Contains(out, "# TYPE ebpf_exporter_oom_kills_total") || strings.Contains(out, "\nebpf_exporter_oom_kills_total{") {
		t.Errorf("OOM kill series exported without the program:\n%s", out)
	}
}

// A mapped container's OOM kill series exists from the first scrape at 0, so that its first kill (0 -> 1) is an
// increase that rate()/increase() see; unmapped cgroups get none.
func TestOOMSeriesStartsAtZero(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), nil, 0o644)
	rel := "/scenario-1/kubepods/podu-1/cid1"
	appID := mk(t, filepath.Join(root, rel))
	mk(t, filepath.Join(root, "/scenario-1/kubepods/podu-9/cidX")) // a pod not on the list
	l, err := cgroupfs.Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBPF{runq: map[uint64]probe.Hist{}, oom: map[probe.OOMKey]uint64{}}
	c := New(l, f)
	c.OOMKnown = true
	idx, _, err := kube.ParsePodList([]byte(podList))
	if err != nil {
		t.Fatal(err)
	}
	c.SetPods(idx)
	series := func(g string) string {
		return `ebpf_exporter_oom_kills_total{cgroup_path="` + root + rel + `",global_oom="` + g + `",namespace="shop",pod="web-1",container="app",id="` + rel + `"} `
	}
	scrape := func() string {
		var b strings.Builder
		if err := c.Scrape(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	out := scrape()
	if !strings.Contains(out, "\n"+series("0")+"0\n") {
		t.Errorf("no zero series before the first kill:\n%s", out)
	}
	if strings.Contains(out, series("1")) || strings.Contains(out, "cidX") {
		t.Errorf("global_oom=\"1\" without global_oom known, or an unmapped cgroup:\n%s", out)
	}
	f.oom[probe.OOMKey{CgroupID: appID}] = 1
	out = scrape()
	if !strings.Contains(out, "\n"+series("0")+"1\n") || strings.Count(out, series("0")) != 1 {
		t.Errorf("want exactly one global_oom=\"0\" series at 1 after the kill:\n%s", out)
	}
	// With global_oom measured, both scopes start at 0.
	c.GlobalOOMKnown = true
	out = scrape()
	if !strings.Contains(out, "\n"+series("0")+"1\n") || !strings.Contains(out, "\n"+series("1")+"0\n") {
		t.Errorf("want global_oom=\"0\" at 1 and global_oom=\"1\" at 0:\n%s", out)
	}
}

func TestJitter(t *testing.T) {
	d := 10 * time.Second
	if Jitter(d, 0) != 9*time.Second || Jitter(d, 0.5) != d || Jitter(d, 0.999999) >= 11*time.Second || Jitter(d, 0.999999) < 10999*time.Millisecond {
		t.Fatalf("%v %v %v", Jitter(d, 0), Jitter(d, 0.5), Jitter(d, 0.999999))
	}
}

type failingSource struct{ n atomic.Int32 }

func (f *failingSource) PodList(context.Context) ([]byte, error) {
	f.n.Add(1)
	return nil, errors.New("connection refused")
}
func (f *failingSource) String() string { return "failing" }

// A map read that keeps failing, while the cgroup scan and the other maps succeed, logs once when it starts and
// once when it ends: not a failing/recovered pair per scrape. The node-wide map's errors are reported too, and the
// Pod listing has a logger of its own.
func TestOneFailureLoggerPerSource(t *testing.T) {
	var logs strings.Builder
	logx.SetOutput(&logs)
	defer logx.SetOutput(os.Stderr)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), nil, 0o644)
	mk(t, filepath.Join(root, "/scenario-1/kubepods/podu-1/cid1"))
	l, err := cgroupfs.Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBPF{runq: map[uint64]probe.Hist{}, oom: map[probe.OOMKey]uint64{},
		runqErr: errors.New("runq read"), nodeErr: errors.New("node read"), oomErr: errors.New("oom read")}
	c := New(l, f)
	c.OOMKnown = true
	for i := 0; i < 10; i++ {
		c.Scrape(io.Discard)
	}
	f.runqErr, f.nodeErr, f.oomErr = nil, nil, nil
	for i := 0; i < 3; i++ {
		c.Scrape(io.Discard)
	}
	// The Pod listing fails three times (stopped by the context once it has).
	ctx, cancel := context.WithCancel(context.Background())
	src := &failingSource{}
	go func() {
		for src.n.Load() < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	c.RefreshPods(ctx, src, time.Millisecond)
	out := logs.String()
	for _, ev := range []string{"map_read_runq_by_cgroup", "map_read_runq_node", "map_read_oom_kills"} {
		if strings.Count(out, "event="+ev+"_failing ") != 1 || strings.Count(out, "event="+ev+"_recovered ") != 1 ||
			!strings.Contains(out, "event="+ev+"_recovered duration=") {
			t.Errorf("%s: want one failing and one recovered line", ev)
		}
	}
	if strings.Count(out, "event=pods_refresh_failing ") != 1 || strings.Contains(out, "cgroup_scan") {
		t.Errorf("want one pods_refresh_failing line and nothing about the cgroup scan")
	}
	if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != 7 {
		t.Errorf("%d lines, want 7", n)
	}
	if t.Failed() {
		t.Log(out)
	}
}
