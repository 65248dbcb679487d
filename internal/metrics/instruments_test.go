package metrics

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestCounterVec(t *testing.T) {
	cases := []struct {
		name string
		adds [][]string // label values per Inc
		want string
	}{
		{"none", nil, "# HELP c_total C.\n# TYPE c_total counter\n"},
		{"sorted series", [][]string{{"b", "ok"}, {"a", "ok"}, {"b", "ok"}, {"a", "error"}},
			"# HELP c_total C.\n# TYPE c_total counter\n" +
				"c_total{outcome=\"error\",tool=\"a\"} 1\nc_total{outcome=\"ok\",tool=\"a\"} 1\nc_total{outcome=\"ok\",tool=\"b\"} 2\n"},
		{"missing values are empty", [][]string{{"x"}},
			"# HELP c_total C.\n# TYPE c_total counter\nc_total{outcome=\"\",tool=\"x\"} 1\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cv := NewCounterVec("tool", "outcome")
			for _, a := range c.adds {
				cv.Inc(a...)
			}
			r := NewRegistry()
			if err := r.Register("c_total", "C.", Counter, cv.Samples); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if _, err := r.WriteTo(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("got\n%s\nwant\n%s", b.String(), c.want)
			}
		})
	}
}

func TestCounterVecOverflow(t *testing.T) {
	cv := NewCounterVec("model")
	for i := range MaxSeries + 10 {
		cv.Inc(fmt.Sprint("m", i))
	}
	if got := len(cv.Samples()); got != MaxSeries+1 {
		t.Fatalf("%d series, want %d", got, MaxSeries+1)
	}
	if got := cv.Value(OverflowValue); got != 10 {
		t.Fatalf("overflow counted %v, want 10", got)
	}
	if got := cv.Value("m3"); got != 1 {
		t.Fatalf("m3 = %v", got)
	}
}

func TestHistogramVec(t *testing.T) {
	h := NewHistogramVec([]float64{1, 0.1, 0.5}, "op")
	for _, v := range []float64{0.0625, 0.1, 0.25, 2, 0.75} {
		h.Observe(v, "x")
	}
	r := NewRegistry()
	if err := r.Register("lat_seconds", "Latency.", Histogram, h.Samples); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n" +
		"lat_seconds_bucket{le=\"0.1\",op=\"x\"} 2\n" +
		"lat_seconds_bucket{le=\"0.5\",op=\"x\"} 3\n" +
		"lat_seconds_bucket{le=\"1\",op=\"x\"} 4\n" +
		"lat_seconds_bucket{le=\"+Inf\",op=\"x\"} 5\n" +
		"lat_seconds_sum{op=\"x\"} 3.1625\n" +
		"lat_seconds_count{op=\"x\"} 5\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	if h.Count("x") != 5 || h.Count("y") != 0 {
		t.Fatalf("counts %d %d", h.Count("x"), h.Count("y"))
	}
}

func TestInstrumentsConcurrent(t *testing.T) {
	cv := NewCounterVec("k")
	h := NewHistogramVec([]float64{1}, "k")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				cv.Inc(fmt.Sprint(g % 2))
				h.Observe(float64(i%3), fmt.Sprint(g%2))
				_ = cv.Samples()
				_ = h.Samples()
			}
		})
	}
	wg.Wait()
	if cv.Value("0")+cv.Value("1") != 8000 || h.Count("0")+h.Count("1") != 8000 {
		t.Fatalf("lost counts: %v %v", cv.Value("0")+cv.Value("1"), h.Count("0")+h.Count("1"))
	}
}

func TestUnlabelledExposedAtZero(t *testing.T) {
	r := NewRegistry()
	c, h := NewCounterVec(), NewHistogramVec([]float64{1})
	if err := r.Register("z_total", "Z.", Counter, c.Samples); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("d_seconds", "D.", Histogram, h.Samples); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "# HELP d_seconds D.\n# TYPE d_seconds histogram\nd_seconds_bucket{le=\"1\"} 0\nd_seconds_bucket{le=\"+Inf\"} 0\nd_seconds_sum 0\nd_seconds_count 0\n" +
		"# HELP z_total Z.\n# TYPE z_total counter\nz_total 0\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
