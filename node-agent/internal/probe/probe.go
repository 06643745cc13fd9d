// Package probe loads the agent's eBPF programs (compiled by build.sh and embedded) and reads their maps.
package probe

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

//go:embed obj
var objFS embed.FS

const objPath = "obj/agent.bpf.o"

// Slots is the number of log2 microsecond buckets: k = 0..25 is [2^k, 2^(k+1)) us, the last (26) is [2^26 us, inf).
const Slots = 27

// Hist mirrors struct hist in agent.bpf.c.
type Hist struct {
	Slots [Slots]uint64
	SumNs uint64 // nanoseconds
	Count uint64
}

func (h *Hist) add(o Hist) {
	for i := range h.Slots {
		h.Slots[i] += o.Slots[i]
	}
	h.SumNs += o.SumNs
	h.Count += o.Count
}

// OOMKey mirrors struct oom_key.
type OOMKey struct {
	CgroupID  uint64
	GlobalOOM uint32
	Pad       uint32
}

type objects struct {
	OnWakeup    *ebpf.Program `ebpf:"on_wakeup"`
	OnWakeupNew *ebpf.Program `ebpf:"on_wakeup_new"`
	OnSwitch    *ebpf.Program `ebpf:"on_switch"`

	RunnableSince *ebpf.Map `ebpf:"runnable_since"`
	RunqByCgroup  *ebpf.Map `ebpf:"runq_by_cgroup"`
	RunqNode      *ebpf.Map `ebpf:"runq_node"`
	OOMKills      *ebpf.Map `ebpf:"oom_kills"`
	OOMScope      *ebpf.Map `ebpf:"oom_scope"`
}

type oomObjects struct {
	OnMarkVictim *ebpf.Program `ebpf:"on_mark_victim"`
}

type oomScopeObjects struct {
	OnOutOfMemory *ebpf.Program `ebpf:"on_out_of_memory"`
}

// Probe is the loaded and attached programs.
type Probe struct {
	objs     objects
	oom      oomObjects
	oomScope oomScopeObjects
	links    []link.Link
	stats    io.Closer
	// OOMKnown: tp_btf/mark_victim attached, so OOM kills are counted per victim cgroup. Optional: a kernel whose
	// mark_victim tracepoint passes an int pid, not the task, refuses the program (OOMError says why).
	OOMKnown bool
	OOMError error
	// GlobalOOMKnown: fentry/out_of_memory attached (tried only with OOMKnown), so global_oom is measured (else
	// always 0).
	GlobalOOMKnown bool
	GlobalOOMError error
	// StatsEnabled: the kernel counts the programs' run time (BPF_ENABLE_STATS, while the agent runs).
	StatsEnabled bool
	StatsError   error
}

// LoadError is a failure to load the programs, with the verifier's first lines when it refused one.
type LoadError struct{ Err error }

func (e *LoadError) Error() string {
	var ve *ebpf.VerifierError
	if errors.As(e.Err, &ve) {
		lines := ve.Log
		if len(lines) > 6 {
			lines = lines[:6]
		}
		return fmt.Sprintf("%v; verifier: %s", e.Err, strings.Join(lines, " | "))
	}
	return e.Err.Error()
}

// Embedded says whether the binary carries the compiled programs.
func Embedded() bool {
	_, err := objFS.ReadFile(objPath)
	return err == nil
}

// Load loads and attaches the programs. The run-queue programs are required (an error when they fail); the OOM
// ones are optional (OOMKnown, GlobalOOMKnown). enableStats turns on the kernel's per-program run time accounting.
func Load(enableStats bool) (*Probe, error) {
	obj, err := objFS.ReadFile(objPath)
	if err != nil {
		return nil, &LoadError{fmt.Errorf("this binary carries no eBPF object (build it with node-agent/build.sh): %w", err)}
	}
	_ = rlimit.RemoveMemlock() // kernels >= 5.11 account BPF memory to the cgroup; older ones need the rlimit
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return nil, &LoadError{fmt.Errorf("parsing the eBPF object: %w", err)}
	}
	p := &Probe{}
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		return nil, &LoadError{fmt.Errorf("loading the eBPF programs: %w", err)}
	}
	for _, prog := range []struct {
		name string
		p    *ebpf.Program
	}{{"sched_wakeup", p.objs.OnWakeup}, {"sched_wakeup_new", p.objs.OnWakeupNew}, {"sched_switch", p.objs.OnSwitch}} {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog.p})
		if err != nil {
			p.Close()
			return nil, &LoadError{fmt.Errorf("attaching tp_btf/%s: %w", prog.name, err)}
		}
		p.links = append(p.links, l)
	}
	// Optional: tp_btf/mark_victim counts OOM kills by the victim's cgroup.
	shared := &ebpf.CollectionOptions{MapReplacements: map[string]*ebpf.Map{"oom_kills": p.objs.OOMKills, "oom_scope": p.objs.OOMScope}}
	if err := spec.LoadAndAssign(&p.oom, shared); err != nil {
		p.OOMError = fmt.Errorf("loading tp_btf/mark_victim: %w", &LoadError{err})
	} else if l, err := link.AttachTracing(link.TracingOptions{Program: p.oom.OnMarkVictim}); err != nil {
		p.OOMError = fmt.Errorf("attaching tp_btf/mark_victim: %w", err)
		p.oom.OnMarkVictim.Close()
		p.oom.OnMarkVictim = nil
	} else {
		p.links = append(p.links, l)
		p.OOMKnown = true
	}
	// Optional, and only useful with mark_victim: fentry on out_of_memory() tells a global OOM from a memcg one.
	if !p.OOMKnown {
		p.GlobalOOMError = errors.New("not tried: tp_btf/mark_victim is not attached")
	} else if err := spec.LoadAndAssign(&p.oomScope, shared); err != nil {
		p.GlobalOOMError = err
	} else if l, err := link.AttachTracing(link.TracingOptions{Program: p.oomScope.OnOutOfMemory}); err != nil {
		p.GlobalOOMError = err
		p.oomScope.OnOutOfMemory.Close()
		p.oomScope.OnOutOfMemory = nil
	} else {
		p.links = append(p.links, l)
		p.GlobalOOMKnown = true
	}
	if enableStats {
		c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			p.StatsError = err
		} else {
			p.stats, p.StatsEnabled = c, true
		}
	}
	return p, nil
}

func (p *Probe) Close() {
	for _, l := range p.links {
		l.Close()
	}
	if p.stats != nil {
		p.stats.Close()
	}
	for _, c := range []io.Closer{p.objs.OnWakeup, p.objs.OnWakeupNew, p.objs.OnSwitch, p.oom.OnMarkVictim,
		p.objs.RunnableSince, p.objs.RunqByCgroup, p.objs.RunqNode, p.objs.OOMKills, p.objs.OOMScope} {
		if c != nil && !isNilProgOrMap(c) {
			c.Close()
		}
	}
	if p.oomScope.OnOutOfMemory != nil {
		p.oomScope.OnOutOfMemory.Close()
	}
}

func isNilProgOrMap(c io.Closer) bool {
	switch v := c.(type) {
	case *ebpf.Program:
		return v == nil
	case *ebpf.Map:
		return v == nil
	}
	return false
}

// RunqByCgroup reads the histogram of each cgroup2 id (one shared copy, updated atomically).
func (p *Probe) RunqByCgroup() (map[uint64]Hist, error) {
	out := map[uint64]Hist{}
	var key uint64
	var h Hist
	it := p.objs.RunqByCgroup.Iterate()
	for it.Next(&key, &h) {
		out[key] = h
	}
	return out, it.Err()
}

// RunqNode sums the node-wide per-CPU histogram.
func (p *Probe) RunqNode() (Hist, error) {
	var vals []Hist
	var h Hist
	if err := p.objs.RunqNode.Lookup(uint32(0), &vals); err != nil {
		return h, err
	}
	for _, v := range vals {
		h.add(v)
	}
	return h, nil
}

// OOMKills reads the kill counts per (cgroup2 id, global_oom).
func (p *Probe) OOMKills() (map[OOMKey]uint64, error) {
	out := map[OOMKey]uint64{}
	var key OOMKey
	var n uint64
	it := p.objs.OOMKills.Iterate()
	for it.Next(&key, &n) {
		out[key] = n
	}
	return out, it.Err()
}

// ForgetCgroup drops a vanished cgroup's histogram.
func (p *Probe) ForgetCgroup(id uint64) { _ = p.objs.RunqByCgroup.Delete(id) }

// ForgetOOM drops an OOM counter.
func (p *Probe) ForgetOOM(k OOMKey) { _ = p.objs.OOMKills.Delete(k) }

// RunTimes gives each program's accumulated run time and run count (zero unless stats are enabled).
func (p *Probe) RunTimes() map[string][2]float64 {
	out := map[string][2]float64{}
	for name, prog := range map[string]*ebpf.Program{"on_wakeup": p.objs.OnWakeup, "on_wakeup_new": p.objs.OnWakeupNew,
		"on_switch": p.objs.OnSwitch, "on_mark_victim": p.oom.OnMarkVictim, "on_out_of_memory": p.oomScope.OnOutOfMemory} {
		if prog == nil {
			continue
		}
		st, err := prog.Stats()
		if err != nil {
			continue
		}
		out[name] = [2]float64{st.Runtime.Seconds(), float64(st.RunCount)}
	}
	return out
}

var _ = time.Second
