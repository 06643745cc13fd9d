// Command node-agent is Flotilla's eBPF node agent: per-cgroup run-queue latency and OOM kills from the kernel,
// cAdvisor-named container series from the cgroup files, mapped to the node's Pods and served as Prometheus text.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flotilla/node-agent/internal/agent"
	"github.com/flotilla/node-agent/internal/cgroupfs"
	"github.com/flotilla/node-agent/internal/kube"
	"github.com/flotilla/node-agent/internal/logx"
	"github.com/flotilla/node-agent/internal/probe"
)

// fatal is the one line a failed start prints; the exit code is 2.
func fatal(reason string, err error) {
	f := logx.F{"reason": reason}
	if err != nil {
		f["error"] = err.Error()
	}
	logx.Log("fatal", "startup_failed", f)
	os.Exit(2)
}

const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

// Timeouts of the /metrics server: a client that sends its request slowly, reads the answer slowly or keeps an idle
// connection open is dropped after these, instead of holding a goroutine and a socket for ever.
const (
	readHeaderTimeout = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// newServer serves /metrics (rendered under the collector's lock, written after it is released) and /healthz.
func newServer(col *agent.Collector) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		body := col.Render()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if _, err := w.Write(body); err != nil {
			logx.Warn("scrape_write_failed", logx.F{"error": err.Error()})
		}
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	return &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
}

func main() {
	listen := flag.String("listen", ":9435", "address to serve /metrics and /healthz on")
	cgroupRoot := flag.String("cgroup-root", "/sys/fs/cgroup", "cgroup filesystem root (hybrid v1 + unified, or pure v2)")
	nodeName := flag.String("node-name", os.Getenv("NODE_NAME"), "this node's name (lists Pods with spec.nodeName=<it>); default $NODE_NAME")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig to reach the API server (default: the in-cluster service account)")
	podRefresh := flag.Duration("pod-refresh", 10*time.Second, "how often the node's Pods are listed")
	podsFile := flag.String("pods-file", "", "test/debug: read the PodList JSON from this file instead of the API server")
	bpfStats := flag.Bool("bpf-stats", false, "enable the kernel's eBPF run time accounting while the agent runs (flotilla_node_agent_bpf_run_time_seconds_total)")
	flag.Parse()

	// Privileges: loading tracing programs needs CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN).
	caps, err := effectiveCaps()
	if err != nil {
		fatal("cannot read the effective capabilities", err)
	}
	has := func(c uint) bool { return caps&(1<<c) != 0 }
	if !has(capSysAdmin) && !(has(capBPF) && has(capPerfmon)) {
		fatal(fmt.Sprintf("needs root or CAP_BPF and CAP_PERFMON (effective capabilities 0x%x, uid %d)", caps, os.Geteuid()), nil)
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		fatal("the kernel exposes no BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot be loaded", err)
	}
	// No tracefs needed: every program attaches by BTF (tp_btf, fentry), not through tracefs's tracepoint ids.
	// The run-queue programs must load; the OOM ones are optional (probe.Load).
	layout, err := cgroupfs.Detect(*cgroupRoot)
	if err != nil {
		fatal("cgroup hierarchy", err)
	}
	var src kube.Source
	switch {
	case *podsFile != "":
		src = kube.FileSource{Path: *podsFile}
	case *nodeName == "":
		fatal("no node name: pass --node-name or set NODE_NAME", nil)
	case *kubeconfig != "":
		a, err := kube.FromKubeconfig(*kubeconfig, *nodeName)
		if err != nil {
			fatal("kubeconfig", err)
		}
		src = a
	default:
		a, err := kube.InCluster(*nodeName)
		if err != nil {
			fatal("Kubernetes API access", err)
		}
		src = a
	}
	p, err := probe.Load(*bpfStats)
	if err != nil {
		fatal("eBPF programs failed to load", err)
	}
	defer p.Close()
	switch {
	case !p.OOMKnown:
		logx.Warn("oom_kills_unavailable", logx.F{"error": fmt.Sprint(p.OOMError),
			"effect": "no ebpf_exporter_oom_kills_total (flotilla_node_agent_oom_known 0); container_oom_events_total still counts kills"})
	case !p.GlobalOOMKnown:
		logx.Warn("global_oom_unknown", logx.F{"error": fmt.Sprint(p.GlobalOOMError), "effect": "global_oom is always 0"})
	}
	if p.StatsError != nil {
		logx.Warn("bpf_stats_unavailable", logx.F{"error": p.StatsError.Error()})
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fatal("cannot listen", err)
	}

	col := agent.New(layout, p)
	col.OOMKnown, col.GlobalOOMKnown, col.StatsEnabled = p.OOMKnown, p.GlobalOOMKnown, p.StatsEnabled
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go col.RefreshPods(ctx, src, *podRefresh)

	srv := newServer(col)
	logx.Info("started", logx.F{"listen": ln.Addr().String(), "cgroup_mode": layout.Mode(), "unified": layout.Unified,
		"pods": src.String(), "node": *nodeName, "oom_known": p.OOMKnown, "global_oom_known": p.GlobalOOMKnown, "bpf_stats": p.StatsEnabled})
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logx.Error("serve_failed", logx.F{"error": err.Error()})
		p.Close()
		os.Exit(1)
	}
	logx.Info("stopped", nil)
}
