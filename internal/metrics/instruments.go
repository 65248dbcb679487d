package metrics

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MaxSeries bounds the label combinations one CounterVec or HistogramVec
// keeps. Further combinations are counted under OverflowValue for every
// label, so a caller passing unbounded values (a model name from a
// request) cannot grow the daemon's memory or the scrape without limit.
const MaxSeries = 512

// OverflowValue is the label value of the series that counts what did
// not fit in MaxSeries.
const OverflowValue = "_other"

// series maps label values to an index into the vec's values. The label
// values are joined with a byte that cannot appear in valid UTF-8.
type series struct {
	labels []string
	index  map[string]int
	values [][]string // label values of each series, in creation order
}

func newSeries(labels []string) series {
	return series{labels: append([]string(nil), labels...), index: map[string]int{}}
}

// lookup returns the series index for values, creating it if there is
// room. Callers hold the vec's lock. Missing values are empty; extra
// values are ignored.
func (s *series) lookup(values []string) (int, bool) {
	// The key of an existing series is looked up without allocating.
	var buf [128]byte
	k := buf[:0]
	for j := range s.labels {
		if j > 0 {
			k = append(k, '\xff')
		}
		if j < len(values) {
			k = append(k, values[j]...)
		}
	}
	if i, ok := s.index[string(k)]; ok {
		return i, false
	}
	vals := make([]string, len(s.labels))
	copy(vals, values)
	key := string(k)
	if len(s.values) >= MaxSeries {
		for j := range vals {
			vals[j] = OverflowValue
		}
		key = strings.Join(vals, "\xff")
		if i, ok := s.index[key]; ok {
			return i, false
		}
	}
	s.index[key] = len(s.values)
	s.values = append(s.values, vals)
	return len(s.values) - 1, true
}

func (s *series) labelMap(i int, extra ...string) map[string]string {
	m := make(map[string]string, len(s.labels)+len(extra)/2)
	for j, l := range s.labels {
		m[l] = s.values[i][j]
	}
	for j := 0; j+1 < len(extra); j += 2 {
		m[extra[j]] = extra[j+1]
	}
	return m
}

// sorted returns the series indexes ordered by label values, so scrapes
// are stable.
func (s *series) sorted() []int {
	idx := make([]int, len(s.values))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		va, vb := s.values[idx[a]], s.values[idx[b]]
		for j := range va {
			if va[j] != vb[j] {
				return va[j] < vb[j]
			}
		}
		return false
	})
	return idx
}

// CounterVec is a counter with labels. It is safe for concurrent use.
type CounterVec struct {
	mu     sync.Mutex
	s      series
	counts []float64
}

// NewCounterVec returns a counter whose series are told apart by labels.
// A counter without labels is exposed (as 0) before its first Add.
func NewCounterVec(labels ...string) *CounterVec {
	c := &CounterVec{s: newSeries(labels)}
	if len(labels) == 0 {
		c.Add(0)
	}
	return c
}

// Add adds v (which should not be negative) to the series named by the
// label values, given in the order of the labels.
func (c *CounterVec) Add(v float64, values ...string) {
	c.mu.Lock()
	i, created := c.s.lookup(values)
	if created {
		c.counts = append(c.counts, 0)
	}
	c.counts[i] += v
	c.mu.Unlock()
}

// Inc adds one.
func (c *CounterVec) Inc(values ...string) { c.Add(1, values...) }

// Value returns the series' count (0 if it was never counted).
func (c *CounterVec) Value(values ...string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	vals := make([]string, len(c.s.labels))
	copy(vals, values)
	if i, ok := c.s.index[strings.Join(vals, "\xff")]; ok {
		return c.counts[i]
	}
	return 0
}

// Samples returns every series; it is the collect callback to register.
func (c *CounterVec) Samples() []Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Sample, 0, len(c.counts))
	for _, i := range c.s.sorted() {
		out = append(out, Sample{Labels: c.s.labelMap(i), Value: c.counts[i]})
	}
	return out
}

// HistogramVec counts observations (latencies, in seconds) into
// cumulative buckets, with a sum and a count, per label combination. It
// is safe for concurrent use.
type HistogramVec struct {
	mu      sync.Mutex
	s       series
	bounds  []float64
	buckets [][]uint64 // per series, per bound (not cumulative)
	sums    []float64
	counts  []uint64
}

// NewHistogramVec returns a histogram with the given upper bounds (sorted
// here; +Inf is implied). A histogram without labels is exposed (empty)
// before its first Observe.
func NewHistogramVec(bounds []float64, labels ...string) *HistogramVec {
	b := make([]float64, 0, len(bounds))
	for _, v := range bounds {
		if !math.IsInf(v, 1) && !math.IsNaN(v) {
			b = append(b, v)
		}
	}
	sort.Float64s(b)
	h := &HistogramVec{s: newSeries(labels), bounds: b}
	if len(labels) == 0 {
		h.s.lookup(nil)
		h.buckets = append(h.buckets, make([]uint64, len(b)))
		h.sums = append(h.sums, 0)
		h.counts = append(h.counts, 0)
	}
	return h
}

// Observe records v in the series named by the label values.
func (h *HistogramVec) Observe(v float64, values ...string) {
	h.mu.Lock()
	i, created := h.s.lookup(values)
	if created {
		h.buckets = append(h.buckets, make([]uint64, len(h.bounds)))
		h.sums = append(h.sums, 0)
		h.counts = append(h.counts, 0)
	}
	if j := sort.SearchFloat64s(h.bounds, v); j < len(h.bounds) {
		h.buckets[i][j]++
	}
	h.sums[i] += v
	h.counts[i]++
	h.mu.Unlock()
}

// Count returns how many observations the series holds.
func (h *HistogramVec) Count(values ...string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	vals := make([]string, len(h.s.labels))
	copy(vals, values)
	if i, ok := h.s.index[strings.Join(vals, "\xff")]; ok {
		return h.counts[i]
	}
	return 0
}

// Samples returns NAME_bucket (cumulative, with le), NAME_sum and
// NAME_count for every series; it is the collect callback to register
// with kind Histogram.
func (h *HistogramVec) Samples() []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Sample, 0, len(h.counts)*(len(h.bounds)+3))
	for _, i := range h.s.sorted() {
		var cum uint64
		for j, b := range h.bounds {
			cum += h.buckets[i][j]
			out = append(out, Sample{Suffix: "_bucket", Labels: h.s.labelMap(i, "le", strconv.FormatFloat(b, 'g', -1, 64)), Value: float64(cum)})
		}
		out = append(out,
			Sample{Suffix: "_bucket", Labels: h.s.labelMap(i, "le", "+Inf"), Value: float64(h.counts[i])},
			Sample{Suffix: "_sum", Labels: h.s.labelMap(i), Value: h.sums[i]},
			Sample{Suffix: "_count", Labels: h.s.labelMap(i), Value: float64(h.counts[i])})
	}
	return out
}
