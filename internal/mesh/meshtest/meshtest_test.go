package meshtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// TestTCPLoss: writes on a lossy path arrive whole and in order, some
// late; nothing is dropped and the connection survives.
func TestTCPLoss(t *testing.T) {
	ctx := context.Background()
	n := NewNetwork(5)
	ln, err := n.Transport("b").Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	n.TCPLoss("a", "b", 0.3, 20*time.Millisecond)
	n.TCPLoss("b", "a", 0.3, 20*time.Millisecond)
	var want bytes.Buffer
	for i := range 40 {
		fmt.Fprintf(&want, "message %02d;", i)
	}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		got := make([]byte, want.Len())
		if _, err := io.ReadFull(c, got); err != nil {
			done <- err
			return
		}
		if !bytes.Equal(got, want.Bytes()) {
			done <- fmt.Errorf("received %q", got)
			return
		}
		_, err = c.Write([]byte("ok")) // the other direction, lossy too
		done <- err
	}()
	c, err := n.Transport("a").Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for i := range 40 {
		if _, err := fmt.Fprintf(c, "message %02d;", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 2)
	if _, err := io.ReadFull(c, ack); err != nil || string(ack) != "ok" {
		t.Fatalf("%q %v", ack, err)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("no write was late at 30% loss")
	}
	// A cut direction loses what is written and refuses new dials.
	n.Cut("a", "b")
	if _, err := n.Transport("a").Dial(ctx, ln.Addr().String()); err == nil {
		t.Fatal("a dial across a cut")
	}
}
