// Package cgroupfs finds container cgroups on a node and reads the cgroup files cAdvisor reads.
package cgroupfs

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Layout says where the hierarchies are. Unified is the cgroup2 hierarchy (the one whose inode numbers are the
// eBPF cgroup ids). In hybrid mode CPU, CPUAcct and Memory are the v1 controllers' hierarchies; in pure v2 they
// are empty.
type Layout struct {
	Root    string
	Hybrid  bool
	Unified string
	CPU     string
	CPUAcct string
	Memory  string
}

func (l Layout) Mode() string {
	if l.Hybrid {
		return "hybrid"
	}
	return "v2"
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Detect tells pure cgroup v2 (cgroup.controllers at the root) from hybrid v1 + unified (cgroup2 at <root>/unified).
func Detect(root string) (Layout, error) {
	if exists(filepath.Join(root, "cgroup.controllers")) {
		return Layout{Root: root, Unified: root}, nil
	}
	l := Layout{Root: root, Hybrid: true}
	if exists(filepath.Join(root, "unified", "cgroup.controllers")) {
		l.Unified = filepath.Join(root, "unified")
	}
	for _, c := range []struct {
		dst   *string
		names []string
	}{
		{&l.CPU, []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"}},
		{&l.CPUAcct, []string{"cpuacct", "cpu,cpuacct", "cpuacct,cpu"}},
		{&l.Memory, []string{"memory"}},
	} {
		for _, n := range c.names {
			if exists(filepath.Join(root, n, "cgroup.procs")) {
				*c.dst = filepath.Join(root, n)
				break
			}
		}
	}
	if l.Unified == "" && l.CPU == "" && l.Memory == "" {
		return l, fmt.Errorf("no cgroup hierarchy found under %s (neither cgroup v2 nor v1 cpu/memory)", root)
	}
	if l.Unified == "" {
		return l, fmt.Errorf("no cgroup2 hierarchy under %s (looked for %s/cgroup.controllers and %s/unified): the eBPF cgroup ids cannot be resolved", root, root, root)
	}
	return l, nil
}

// PodUID returns the pod UID a pod cgroup directory name carries: "pod<uid>" (cgroupfs driver) or
// "kubepods[-<qos>]-pod<uid_with_underscores>.slice" (systemd driver).
func PodUID(name string) (string, bool) {
	if strings.HasSuffix(name, ".slice") {
		base := strings.TrimSuffix(name, ".slice")
		i := strings.LastIndex(base, "-pod")
		if i < 0 || !strings.HasPrefix(base, "kubepods") {
			return "", false
		}
		uid := base[i+4:]
		if uid == "" {
			return "", false
		}
		return strings.ReplaceAll(uid, "_", "-"), true
	}
	if strings.HasPrefix(name, "pod") && len(name) > 3 {
		return name[3:], true
	}
	return "", false
}

// ContainerID returns the container id a container cgroup directory name carries: "<id>",
// "cri-containerd-<id>.scope", "docker-<id>.scope" or "crio-<id>.scope".
func ContainerID(name string) (string, bool) {
	if strings.HasSuffix(name, ".scope") {
		base := strings.TrimSuffix(name, ".scope")
		for _, p := range []string{"cri-containerd-", "docker-", "crio-"} {
			if strings.HasPrefix(base, p) && len(base) > len(p) {
				return base[len(p):], true
			}
		}
		return "", false
	}
	if name == "" || strings.ContainsAny(name, ".:") {
		return "", false
	}
	return name, true
}

// ContainerDir is a directory that looks like a container's cgroup: a child of a pod directory.
type ContainerDir struct {
	Rel         string // path relative to the hierarchy root, starting with "/"
	PodUID      string
	ContainerID string
}

// Scan walks the hierarchies (the unified one and, in hybrid mode, cpu and memory) and returns the container
// directories (by relative path, deduplicated) and the cgroup2 id -> relative path map of the unified hierarchy.
func Scan(l Layout) ([]ContainerDir, map[uint64]string, error) {
	ids := map[uint64]string{}
	seen := map[string]bool{}
	var out []ContainerDir
	var firstErr error
	roots := []string{l.Unified}
	if l.Hybrid {
		roots = append(roots, l.CPU, l.Memory)
	}
	for i, root := range roots {
		if root == "" {
			continue
		}
		unified := i == 0
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				if p == root {
					return err
				}
				return nil
			}
			if !d.IsDir() {
				return nil
			}
			rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
			if unified {
				if fi, err := d.Info(); err == nil {
					if st, ok := fi.Sys().(*syscall.Stat_t); ok {
						ids[st.Ino] = rel
					}
				}
			}
			if seen[rel] {
				return nil
			}
			parent := filepath.Base(filepath.Dir(p))
			if uid, ok := PodUID(parent); ok && p != root {
				if cid, ok := ContainerID(d.Name()); ok {
					seen[rel] = true
					out = append(out, ContainerDir{Rel: rel, PodUID: uid, ContainerID: cid})
				}
			}
			return nil
		})
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return out, ids, firstErr
}

// KeyValues parses "key value" lines (cpu.stat, memory.stat, memory.events, memory.oom_control).
func KeyValues(text string) map[string]uint64 {
	m := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			m[f[0]] = v
		}
	}
	return m
}

// Pressure parses a PSI file ("some avg10=.. total=<us>" and "full ... total=<us>").
func Pressure(text string) (some, full uint64, hasSome, hasFull bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		for _, kv := range f[1:] {
			v, ok := strings.CutPrefix(kv, "total=")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "some":
				some, hasSome = n, true
			case "full":
				full, hasFull = n, true
			}
		}
	}
	return
}

// Value is an optional measurement.
type Value struct {
	V  float64
	OK bool
}

func val(v float64) Value { return Value{V: v, OK: true} }

// Stats are one container's cAdvisor-named values.
type Stats struct {
	CPUUsageSeconds, CFSPeriods, CFSThrottledPeriods, CFSThrottledSeconds Value
	MemoryUsage, MemoryWorkingSet, MemoryLimit                            Value
	CPUQuota, CPUPeriod                                                   Value
	OOMEvents                                                             Value
	CPUWaiting, CPUStalled, MemoryWaiting, MemoryStalled                  Value
}

func read(dir, file string) (string, bool) {
	if dir == "" {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", false
	}
	return string(b), true
}

func readUint(dir, file string) (uint64, bool) {
	s, ok := read(dir, file)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return v, err == nil
}

func readInt(dir, file string) (int64, bool) {
	s, ok := read(dir, file)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return v, err == nil
}

// v1 reports "no limit" as a huge page-aligned number; cAdvisor-fed dashboards show 0 for "no limit".
const v1Unlimited = uint64(1) << 62

// Read reads the cgroup files of the container at rel.
func Read(l Layout, rel string) Stats {
	var s Stats
	u := filepath.Join(l.Unified, rel)
	if l.Unified == "" {
		u = ""
	}
	if l.Hybrid {
		cpu, acct, mem := join(l.CPU, rel), join(l.CPUAcct, rel), join(l.Memory, rel)
		if ns, ok := readUint(acct, "cpuacct.usage"); ok {
			s.CPUUsageSeconds = val(float64(ns) / 1e9)
		}
		if t, ok := read(cpu, "cpu.stat"); ok {
			kv := KeyValues(t)
			s.CFSPeriods = val(float64(kv["nr_periods"]))
			s.CFSThrottledPeriods = val(float64(kv["nr_throttled"]))
			s.CFSThrottledSeconds = val(float64(kv["throttled_time"]) / 1e9)
		}
		if q, ok := readInt(cpu, "cpu.cfs_quota_us"); ok && q > 0 {
			s.CPUQuota = val(float64(q))
		}
		if p, ok := readUint(cpu, "cpu.cfs_period_us"); ok {
			s.CPUPeriod = val(float64(p))
		}
		if usage, ok := readUint(mem, "memory.usage_in_bytes"); ok {
			s.MemoryUsage = val(float64(usage))
			ws := usage
			if t, ok := read(mem, "memory.stat"); ok {
				if inact, ok := KeyValues(t)["total_inactive_file"]; ok {
					ws = sub(usage, inact)
				}
			}
			s.MemoryWorkingSet = val(float64(ws))
		}
		if lim, ok := readUint(mem, "memory.limit_in_bytes"); ok {
			if lim >= v1Unlimited {
				lim = 0
			}
			s.MemoryLimit = val(float64(lim))
		}
		if t, ok := read(mem, "memory.oom_control"); ok {
			if n, ok := KeyValues(t)["oom_kill"]; ok {
				s.OOMEvents = val(float64(n))
			}
		}
	} else {
		if t, ok := read(u, "cpu.stat"); ok {
			kv := KeyValues(t)
			if v, ok := kv["usage_usec"]; ok {
				s.CPUUsageSeconds = val(float64(v) / 1e6)
			}
			if v, ok := kv["nr_periods"]; ok {
				s.CFSPeriods = val(float64(v))
				s.CFSThrottledPeriods = val(float64(kv["nr_throttled"]))
				s.CFSThrottledSeconds = val(float64(kv["throttled_usec"]) / 1e6)
			}
		}
		if t, ok := read(u, "cpu.max"); ok {
			f := strings.Fields(t)
			if len(f) == 2 {
				if q, err := strconv.ParseUint(f[0], 10, 64); err == nil {
					s.CPUQuota = val(float64(q))
				}
				if p, err := strconv.ParseUint(f[1], 10, 64); err == nil {
					s.CPUPeriod = val(float64(p))
				}
			}
		}
		if usage, ok := readUint(u, "memory.current"); ok {
			s.MemoryUsage = val(float64(usage))
			ws := usage
			if t, ok := read(u, "memory.stat"); ok {
				if inact, ok := KeyValues(t)["inactive_file"]; ok {
					ws = sub(usage, inact)
				}
			}
			s.MemoryWorkingSet = val(float64(ws))
		}
		if t, ok := read(u, "memory.max"); ok {
			t = strings.TrimSpace(t)
			if t == "max" {
				s.MemoryLimit = val(0)
			} else if v, err := strconv.ParseUint(t, 10, 64); err == nil {
				s.MemoryLimit = val(float64(v))
			}
		}
		if t, ok := read(u, "memory.events"); ok {
			if n, ok := KeyValues(t)["oom_kill"]; ok {
				s.OOMEvents = val(float64(n))
			}
		}
	}
	// PSI lives in the unified hierarchy in both modes.
	if t, ok := read(u, "cpu.pressure"); ok {
		some, full, hs, hf := Pressure(t)
		if hs {
			s.CPUWaiting = val(float64(some) / 1e6)
		}
		if hf {
			s.CPUStalled = val(float64(full) / 1e6)
		}
	}
	if t, ok := read(u, "memory.pressure"); ok {
		some, full, hs, hf := Pressure(t)
		if hs {
			s.MemoryWaiting = val(float64(some) / 1e6)
		}
		if hf {
			s.MemoryStalled = val(float64(full) / 1e6)
		}
	}
	return s
}

func join(root, rel string) string {
	if root == "" {
		return ""
	}
	return filepath.Join(root, rel)
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
