package metrics

import (
	"strings"
	"testing"
)

func TestWriteTo(t *testing.T) {
	r := NewRegistry()
	if err := r.Value("weftos_processes", "Live processes.", Gauge, func() float64 { return 3 }); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("weftos_msgs_total", "Messages\nsent.", Counter, func() []Sample {
		return []Sample{{Labels: map[string]string{"z": "1", "a": `q"x`}, Value: 2.5}}
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.Value("weftos_processes", "dup", Gauge, nil); err == nil {
		t.Fatal("duplicate accepted")
	}
	if err := r.Value("9bad", "bad", Gauge, nil); err == nil {
		t.Fatal("bad name accepted")
	}
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "# HELP weftos_msgs_total Messages\\nsent.\n# TYPE weftos_msgs_total counter\nweftos_msgs_total{a=\"q\\\"x\",z=\"1\"} 2.5\n" +
		"# HELP weftos_processes Live processes.\n# TYPE weftos_processes gauge\nweftos_processes 3\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
