package logx

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRepeatingLogsStartReminderEnd(t *testing.T) {
	var b strings.Builder
	SetOutput(&b)
	clock := time.Unix(0, 0)
	now = func() time.Time { return clock }
	r := &Repeating{Event: "pods_refresh"}
	for i := 0; i < 30; i++ { // every 10 s for 5 minutes
		r.Fail(errors.New("connection refused"))
		clock = clock.Add(10 * time.Second)
	}
	r.OK()
	r.OK()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	var starts, reminders, ends int
	for _, l := range lines {
		switch {
		case strings.Contains(l, "event=pods_refresh_failing"):
			starts++
		case strings.Contains(l, "event=pods_refresh_still_failing"):
			reminders++
		case strings.Contains(l, "event=pods_refresh_recovered") && strings.Contains(l, "failures=30"):
			ends++
		}
	}
	if starts != 1 || reminders != 4 || ends != 1 || len(lines) != 6 {
		t.Fatalf("start %d reminders %d end %d:\n%s", starts, reminders, ends, b.String())
	}
}
