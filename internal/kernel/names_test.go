package kernel

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/schedule"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"worker", true},
		{"agent@s1", true},
		{"données-ü-名前", true},
		{strings.Repeat("a", MaxNameLen), true},
		{"", false},
		{strings.Repeat("a", MaxNameLen+1), false},
		{"two\nlines", false},
		{"tab\there", false},
		{"esc\x1b[31mred", false},
		{"nul\x00", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"rtl\u202eoverride", false},
		{"zero\u200bwidth", false},
		{"bad\xffutf8", false},
	} {
		err := CheckName("process", tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckName(%q) = %v, not ErrInvalid", tc.name, err)
		}
	}
}

// TestNamesCheckedAtEveryEntry: process, topic, service and cron names with
// control characters never enter the kernel.
func TestNamesCheckedAtEveryEntry(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	bad := "evil\n2 fake-process running"
	if _, err := k.Spawn(ctx, SpawnSpec{Name: bad, Handler: echoHandler(nil), Kind: "test", InheritCaps: true}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("spawn: %v", err)
	}
	pid := spawn(t, k, "ok", KernelPID, nil, echoHandler(nil))
	p, err := k.lookup(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Subscribe(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("subscribe: %v", err)
	}
	if err := p.Send(ctx, ToTopic(bad), Text("x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("publish: %v", err)
	}
	if err := k.RegisterService(ServiceSpec{Name: bad, Owner: pid}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("service: %v", err)
	}
	sched, err := schedule.Parse("@every 1m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.AddCron(ctx, CronSpec{Name: bad, Schedule: sched, From: pid, Target: ToProcess(pid), Payload: Text("x")}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("cron: %v", err)
	}
}
