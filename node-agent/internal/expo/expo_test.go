package expo

import (
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	s := NewSet()
	s.Family("empty", "gauge", "not written")
	f := s.Family("h_seconds", "histogram", "a\nb")
	f.AddHistogram(Histogram{Bounds: []float64{0.5, 1}, Counts: []uint64{1, 2}, Sum: 1.25, Count: 4}, L("x", `a"b\c`))
	var b strings.Builder
	s.Write(&b)
	want := "# HELP h_seconds a\\nb\n# TYPE h_seconds histogram\n" +
		`h_seconds_bucket{x="a\"b\\c",le="0.5"} 1` + "\n" +
		`h_seconds_bucket{x="a\"b\\c",le="1"} 3` + "\n" +
		`h_seconds_bucket{x="a\"b\\c",le="+Inf"} 4` + "\n" +
		`h_seconds_sum{x="a\"b\\c"} 1.25` + "\n" +
		`h_seconds_count{x="a\"b\\c"} 4` + "\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
