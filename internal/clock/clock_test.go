package clock

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestFakeRunsCallsInOrder(t *testing.T) {
	start := time.Unix(1000, 0)
	c := NewFake(start)
	var got []int
	c.AfterFunc(3*time.Second, func() { got = append(got, 3) })
	c.AfterFunc(1*time.Second, func() {
		got = append(got, 1)
		c.AfterFunc(time.Second, func() { got = append(got, 2) })
	})
	stopped := c.AfterFunc(2500*time.Millisecond, func() { got = append(got, 99) })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if stopped.Stop() {
		t.Fatal("second Stop reported true")
	}
	c.Advance(2 * time.Second)
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("after 2s got %v, want [1 2]", got)
	}
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1", c.Pending())
	}
	c.Advance(time.Second)
	if len(got) != 3 || got[2] != 3 {
		t.Fatalf("after 3s got %v", got)
	}
	if !c.Now().Equal(start.Add(3 * time.Second)) {
		t.Fatalf("Now = %v", c.Now())
	}
}

func TestSleep(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	done := make(chan bool, 1)
	go func() { done <- Sleep(context.Background(), c, time.Second) }()
	for c.Pending() == 0 {
		runtime.Gosched()
	}
	c.Advance(time.Second)
	if !<-done {
		t.Fatal("Sleep reported a cancelled context")
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- Sleep(ctx, c, time.Hour) }()
	for c.Pending() == 0 {
		runtime.Gosched()
	}
	cancel()
	if <-done {
		t.Fatal("Sleep outlived its context")
	}
	if n := c.Pending(); n != 0 {
		t.Fatalf("%d timers left after a cancelled Sleep", n)
	}
}
