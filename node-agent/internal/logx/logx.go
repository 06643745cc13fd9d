// Package logx writes one key=value line per event, and folds a repeating failure into a start line, a reminder
// with a count at most every minute, and an end line.
package logx

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	mu  sync.Mutex
	out io.Writer = os.Stderr
	now           = time.Now
)

// SetOutput redirects the log (tests).
func SetOutput(w io.Writer) { mu.Lock(); out = w; mu.Unlock() }

// F is a set of fields.
type F map[string]any

func quote(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return strconv.Quote(s)
	}
	return s
}

// Format renders one line: ts, level, event, then the fields sorted by key.
func Format(t time.Time, level, event string, f F) string {
	var b strings.Builder
	b.WriteString("ts=" + t.UTC().Format(time.RFC3339Nano) + " level=" + level + " event=" + quote(event))
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + quote(fmt.Sprint(f[k])))
	}
	return b.String()
}

func Log(level, event string, f F) {
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintln(out, Format(now(), level, event, f))
}

func Info(event string, f F)  { Log("info", event, f) }
func Warn(event string, f F)  { Log("warn", event, f) }
func Error(event string, f F) { Log("error", event, f) }

// Repeating tracks one kind of failure that may repeat (e.g. the API server is unreachable).
type Repeating struct {
	Event    string        // e.g. "pods_refresh"
	Interval time.Duration // reminder interval; default one minute

	mu           sync.Mutex
	failing      bool
	count        int // failures since it started
	since        time.Time
	lastReminder time.Time
	sinceRemind  int
}

// Fail records a failure: logs when it starts, then at most one reminder per interval with the counts.
func (r *Repeating) Fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := now()
	iv := r.Interval
	if iv == 0 {
		iv = time.Minute
	}
	r.count++
	r.sinceRemind++
	if !r.failing {
		r.failing, r.since, r.lastReminder, r.sinceRemind = true, t, t, 0
		Log("error", r.Event+"_failing", F{"error": err.Error()})
		return
	}
	if t.Sub(r.lastReminder) >= iv {
		Log("error", r.Event+"_still_failing", F{"error": err.Error(), "failures": r.count, "failures_since_last_log": r.sinceRemind, "since": r.since.UTC().Format(time.RFC3339)})
		r.lastReminder, r.sinceRemind = t, 0
	}
}

// OK records a success: logs once when a failure run ends.
func (r *Repeating) OK() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.failing {
		return
	}
	Log("info", r.Event+"_recovered", F{"failures": r.count, "duration": now().Sub(r.since).Round(time.Millisecond).String()})
	r.failing, r.count, r.sinceRemind = false, 0, 0
}
