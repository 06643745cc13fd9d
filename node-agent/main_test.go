package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flotilla/node-agent/internal/agent"
	"github.com/flotilla/node-agent/internal/cgroupfs"
	"github.com/flotilla/node-agent/internal/kube"
	"github.com/flotilla/node-agent/internal/probe"
)

// bigBPF makes an exposition of several MB (one run-time series per fake program), more than the socket buffers
// of a client that never reads hold.
type bigBPF struct{}

func (bigBPF) RunqByCgroup() (map[uint64]probe.Hist, error) { return nil, nil }
func (bigBPF) RunqNode() (probe.Hist, error)                { return probe.Hist{}, nil }
func (bigBPF) OOMKills() (map[probe.OOMKey]uint64, error)   { return nil, nil }
func (bigBPF) ForgetCgroup(uint64)                          {}
func (bigBPF) ForgetOOM(probe.OOMKey)                       {}
func (bigBPF) RunTimes() map[string][2]float64 {
	m := make(map[string][2]float64, 100000)
	for i := 0; i < 100000; i++ {
		m["program_with_a_rather_long_name_"+strconv.Itoa(i)] = [2]float64{1.5, 1e9}
	}
	return m
}

func TestServerTimeouts(t *testing.T) {
	srv := newServer(nil)
	if srv.ReadHeaderTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 {
		t.Fatalf("timeouts not all set: %+v", srv)
	}
}

// A client that asks for /metrics and never reads the answer must not stall a second scrape nor SetPods.
func TestStalledScrapeDoesNotBlock(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), nil, 0o644)
	l, err := cgroupfs.Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	col := agent.New(l, bigBPF{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(col)
	go srv.Serve(ln)
	defer srv.Close()

	stalled, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(stalled, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the handler renders, then blocks writing to the full socket

	done := make(chan string, 2)
	go func() {
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Get("http://" + ln.Addr().String() + "/metrics")
		if err != nil {
			done <- "second scrape: " + err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "flotilla_node_agent_bpf_run_count_total{") {
			done <- "second scrape: incomplete answer"
			return
		}
		done <- ""
	}()
	go func() { col.SetPods(kube.Index{}); done <- "" }()
	for i := 0; i < 2; i++ {
		select {
		case msg := <-done:
			if msg != "" {
				t.Fatal(msg)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a scrape or SetPods is blocked behind a client that does not read")
		}
	}
}
