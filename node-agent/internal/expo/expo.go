// Package expo writes the Prometheus text exposition format (version 0.0.4).
package expo

import (
	"bytes"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Label is one name="value" pair.
type Label struct{ Name, Value string }

// Sample is one line: the family's name plus Suffix (e.g. "_bucket"), labels and value.
type Sample struct {
	Suffix string
	Labels []Label
	Value  float64
}

// Family is a metric family: HELP, TYPE and its samples.
type Family struct {
	Name, Help, Type string
	Samples          []Sample
}

// Set collects families by name, keeping the order they were first added in.
type Set struct {
	order []string
	fams  map[string]*Family
}

func NewSet() *Set { return &Set{fams: map[string]*Family{}} }

// Family returns the family with that name, creating it.
func (s *Set) Family(name, typ, help string) *Family {
	if f, ok := s.fams[name]; ok {
		return f
	}
	f := &Family{Name: name, Help: help, Type: typ}
	s.fams[name] = f
	s.order = append(s.order, name)
	return f
}

func (f *Family) Add(v float64, labels ...Label) {
	f.Samples = append(f.Samples, Sample{Labels: labels, Value: v})
}

// Histogram holds non-cumulative counts per upper bound (ascending; the +Inf bucket is implied by count).
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Sum    float64
	Count  uint64
}

// AddHistogram adds cumulative _bucket lines (le as bounds then +Inf), _sum and _count.
func (f *Family) AddHistogram(h Histogram, labels ...Label) {
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		f.Samples = append(f.Samples, Sample{Suffix: "_bucket", Labels: with(labels, Label{"le", FormatFloat(b)}), Value: float64(cum)})
	}
	count := h.Count
	if count < cum {
		count = cum
	}
	f.Samples = append(f.Samples, Sample{Suffix: "_bucket", Labels: with(labels, Label{"le", "+Inf"}), Value: float64(count)})
	f.Samples = append(f.Samples, Sample{Suffix: "_sum", Labels: labels, Value: h.Sum})
	f.Samples = append(f.Samples, Sample{Suffix: "_count", Labels: labels, Value: float64(count)})
}

func with(labels []Label, l Label) []Label {
	out := make([]Label, 0, len(labels)+1)
	out = append(out, labels...)
	return append(out, l)
}

// FormatFloat renders a value as Prometheus does.
func FormatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// Write writes all families with samples. Families keep insertion order; samples are written as added.
func (s *Set) Write(w io.Writer) error {
	var b bytes.Buffer
	for _, name := range s.order {
		f := s.fams[name]
		if len(f.Samples) == 0 {
			continue
		}
		b.WriteString("# HELP " + f.Name + " " + helpEscaper.Replace(f.Help) + "\n")
		b.WriteString("# TYPE " + f.Name + " " + f.Type + "\n")
		for _, smp := range f.Samples {
			b.WriteString(f.Name + smp.Suffix)
			if len(smp.Labels) > 0 {
				b.WriteByte('{')
				for i, l := range smp.Labels {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(l.Name + `="` + labelEscaper.Replace(l.Value) + `"`)
				}
				b.WriteByte('}')
			}
			b.WriteString(" " + FormatFloat(smp.Value) + "\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Names lists the families with samples, sorted (for tests and logs).
func (s *Set) Names() []string {
	var out []string
	for n, f := range s.fams {
		if len(f.Samples) > 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// L makes a label.
func L(name, value string) Label { return Label{Name: name, Value: value} }
