package cgroupfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPodUID(t *testing.T) {
	for name, want := range map[string]string{
		"pod1234-ab":                           "1234-ab",
		"kubepods-burstable-pod12_34_ab.slice": "12-34-ab",
		"kubepods-besteffort-podaa_bb.slice":   "aa-bb",
		"kubepods-podcc_dd.slice":              "cc-dd",
		"kubepods.slice":                       "",
		"system.slice":                         "",
		"pod":                                  "",
	} {
		got, ok := PodUID(name)
		if ok != (want != "") || got != want {
			t.Errorf("PodUID(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestContainerID(t *testing.T) {
	for name, want := range map[string]string{
		"abc123":                      "abc123",
		"cri-containerd-abc123.scope": "abc123",
		"docker-abc123.scope":         "abc123",
		"crio-abc123.scope":           "abc123",
		"crio-conmon-abc123.scope":    "conmon-abc123",
		"session-1.scope":             "",
		"cpu.stat":                    "",
	} {
		got, ok := ContainerID(name)
		if ok != (want != "") || got != want {
			t.Errorf("ContainerID(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestPressure(t *testing.T) {
	some, full, hs, hf := Pressure("some avg10=0.00 avg60=0.10 avg300=0.00 total=1234567\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=89\n")
	if !hs || !hf || some != 1234567 || full != 89 {
		t.Fatalf("got %d %d %v %v", some, full, hs, hf)
	}
}

func write(t *testing.T, dir, file, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A fake hybrid hierarchy: v1 cpu, cpuacct, memory plus the unified one, with one container nested anywhere.
func fakeHybrid(t *testing.T) (Layout, string) {
	root := t.TempDir()
	rel := "/scenario-x/kubepods/burstable/podu-1/cid1"
	for _, h := range []string{"cpu", "cpuacct", "memory"} {
		write(t, filepath.Join(root, h), "cgroup.procs", "")
	}
	write(t, filepath.Join(root, "unified"), "cgroup.controllers", "")
	write(t, filepath.Join(root, "cpuacct"+rel), "cpuacct.usage", "2500000000\n")
	write(t, filepath.Join(root, "cpu"+rel), "cpu.stat", "nr_periods 50\nnr_throttled 48\nthrottled_time 2500000000\n")
	write(t, filepath.Join(root, "cpu"+rel), "cpu.cfs_quota_us", "20000\n")
	write(t, filepath.Join(root, "cpu"+rel), "cpu.cfs_period_us", "100000\n")
	write(t, filepath.Join(root, "memory"+rel), "memory.usage_in_bytes", "1000\n")
	write(t, filepath.Join(root, "memory"+rel), "memory.stat", "cache 10\ntotal_inactive_file 300\n")
	write(t, filepath.Join(root, "memory"+rel), "memory.limit_in_bytes", "9223372036854771712\n")
	write(t, filepath.Join(root, "memory"+rel), "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
	write(t, filepath.Join(root, "unified"+rel), "cpu.pressure", "some avg10=0 avg60=0 avg300=0 total=3000000\nfull avg10=0 avg60=0 avg300=0 total=1000000\n")
	write(t, filepath.Join(root, "unified"+rel), "memory.pressure", "some avg10=0 avg60=0 avg300=0 total=500000\nfull avg10=0 avg60=0 avg300=0 total=0\n")
	write(t, filepath.Join(root, "unified/system.slice/x.service"), "cgroup.procs", "")
	l, err := Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	return l, rel
}

func TestDetectScanRead(t *testing.T) {
	l, rel := fakeHybrid(t)
	if !l.Hybrid || l.Mode() != "hybrid" {
		t.Fatalf("layout %+v", l)
	}
	dirs, ids, err := Scan(l)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 1 || dirs[0].Rel != rel || dirs[0].PodUID != "u-1" || dirs[0].ContainerID != "cid1" {
		t.Fatalf("dirs %+v", dirs)
	}
	var st os.FileInfo
	if st, err = os.Stat(filepath.Join(l.Unified, rel)); err != nil {
		t.Fatal(err)
	}
	found := false
	for id, r := range ids {
		if r == rel && id == inode(st) {
			found = true
		}
	}
	if !found {
		t.Fatalf("the unified dir's inode is not mapped to %s: %v", rel, ids)
	}
	s := Read(l, rel)
	check := func(name string, v Value, want float64) {
		if !v.OK || v.V != want {
			t.Errorf("%s = %+v, want %v", name, v, want)
		}
	}
	check("cpu", s.CPUUsageSeconds, 2.5)
	check("periods", s.CFSPeriods, 50)
	check("throttled", s.CFSThrottledPeriods, 48)
	check("throttled s", s.CFSThrottledSeconds, 2.5)
	check("quota", s.CPUQuota, 20000)
	check("period", s.CPUPeriod, 100000)
	check("usage", s.MemoryUsage, 1000)
	check("working set", s.MemoryWorkingSet, 700)
	check("limit (unlimited)", s.MemoryLimit, 0)
	check("oom", s.OOMEvents, 2)
	check("cpu waiting", s.CPUWaiting, 3)
	check("cpu stalled", s.CPUStalled, 1)
	check("mem waiting", s.MemoryWaiting, 0.5)
	check("mem stalled", s.MemoryStalled, 0)
}

func TestReadV2(t *testing.T) {
	root := t.TempDir()
	rel := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda_b.slice/cri-containerd-c1.scope"
	write(t, root, "cgroup.controllers", "cpu memory")
	d := filepath.Join(root, rel)
	write(t, d, "cpu.stat", "usage_usec 1500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n")
	write(t, d, "cpu.max", "max 100000\n")
	write(t, d, "memory.current", "4096\n")
	write(t, d, "memory.stat", "inactive_file 8192\n")
	write(t, d, "memory.max", "67108864\n")
	write(t, d, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
	l, err := Detect(root)
	if err != nil || l.Hybrid {
		t.Fatalf("%+v %v", l, err)
	}
	dirs, _, _ := Scan(l)
	if len(dirs) != 1 || dirs[0].PodUID != "a-b" || dirs[0].ContainerID != "c1" {
		t.Fatalf("dirs %+v", dirs)
	}
	s := Read(l, rel)
	if s.CPUUsageSeconds.V != 1.5 || s.CFSThrottledSeconds.V != 0.25 || s.CPUQuota.OK || s.CPUPeriod.V != 100000 ||
		s.MemoryWorkingSet.V != 0 || s.MemoryLimit.V != 67108864 || s.OOMEvents.V != 1 {
		t.Fatalf("%+v", s)
	}
}
