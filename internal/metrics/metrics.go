// Package metrics exposes values in the Prometheus text exposition format
// (version 0.0.4). Values are read from callbacks at scrape time, so the
// code that owns a number never has to push it anywhere. For events that
// no one else counts (a model call, an fsync), CounterVec and HistogramVec
// keep labelled counts and latency distributions whose Samples method is
// such a callback.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	http "github.com/weftos/weftos/internal/localhttp"
)

// Kind is a metric type.
type Kind string

// Metric kinds.
const (
	Counter   Kind = "counter"
	Gauge     Kind = "gauge"
	Histogram Kind = "histogram"
)

// Sample is one labelled value.
type Sample struct {
	// Suffix is appended to the metric's name: a histogram's samples are
	// NAME_bucket, NAME_sum and NAME_count.
	Suffix string
	Labels map[string]string
	Value  float64
}

type metric struct {
	name, help string
	kind       Kind
	collect    func() []Sample
}

// Registry holds metrics.
type Registry struct {
	mu      sync.Mutex
	metrics map[string]metric
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{metrics: map[string]metric{}} }

// Register adds a metric whose samples collect returns at scrape time. It
// fails on an invalid or duplicate name.
func (r *Registry) Register(name, help string, kind Kind, collect func() []Sample) error {
	if !validName(name) {
		return fmt.Errorf("metrics: invalid name %q", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.metrics[name]; dup {
		return fmt.Errorf("metrics: %q registered twice", name)
	}
	r.metrics[name] = metric{name: name, help: help, kind: kind, collect: collect}
	return nil
}

// Value registers an unlabelled metric read from f.
func (r *Registry) Value(name, help string, kind Kind, f func() float64) error {
	return r.Register(name, help, kind, func() []Sample { return []Sample{{Value: f()}} })
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// WriteTo writes every metric, sorted by name, in the text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	list := make([]metric, 0, len(r.metrics))
	for _, m := range r.metrics {
		list = append(list, m)
	}
	r.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	var b strings.Builder
	for _, m := range list {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, escapeHelp(m.help), m.name, m.kind)
		for _, s := range m.collect() {
			b.WriteString(m.name)
			b.WriteString(s.Suffix)
			if len(s.Labels) > 0 {
				keys := make([]string, 0, len(s.Labels))
				for k := range s.Labels {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				b.WriteByte('{')
				for i, k := range keys {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=\"%s\"", k, escapeLabel(s.Labels[k]))
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(formatValue(s.Value))
			b.WriteByte('\n')
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func formatValue(v float64) string {
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

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

// Handler serves the registry.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = r.WriteTo(w)
	})
}
