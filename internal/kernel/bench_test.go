package kernel

import (
	"context"
	"sort"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkIPCLatency measures send → receive latency with one message in
// flight: the sender waits until the receiver has the message before
// sending the next. p50 and p99 are reported in ns.
func BenchmarkIPCLatency(b *testing.B) {
	k := newKernel(b, Config{})
	ctx := context.Background()
	got := make(chan time.Duration)
	var sentAt time.Time
	pid, err := k.Spawn(ctx, SpawnSpec{Name: "sink", Kind: "bench", InheritCaps: true, Handler: HandlerFunc(func(ctx context.Context, p *Process) error {
		for {
			env, err := p.Receive(ctx)
			if err != nil || env.Payload.Kind == PayloadSignal {
				return nil
			}
			got <- time.Since(sentAt)
		}
	})})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	payload := Text("hello")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sentAt = time.Now()
		if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: payload}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, <-got)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkIPCThroughput streams messages from a sender to a receiving
// process as fast as the bounded inbox allows; run with -cpu 1 for the
// one-core figure.
func BenchmarkIPCThroughput(b *testing.B) {
	k := newKernel(b, Config{InboxCapacity: 4096})
	ctx := context.Background()
	done := make(chan struct{})
	pid, err := k.Spawn(ctx, SpawnSpec{Name: "sink", Kind: "bench", InheritCaps: true, Handler: HandlerFunc(func(ctx context.Context, p *Process) error {
		n := 0
		for {
			env, err := p.Receive(ctx)
			if err != nil {
				return nil
			}
			if env.Payload.Kind == PayloadSignal {
				return nil
			}
			n++
			if n == b.N {
				close(done)
			}
		}
	})})
	if err != nil {
		b.Fatal(err)
	}
	payload := Text("hello")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: payload}); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkIPCPingPong measures a synchronous round trip (send, receive,
// reply, receive) between two goroutines: one message each way.
func BenchmarkIPCPingPong(b *testing.B) {
	k := newKernel(b, Config{})
	ctx := context.Background()
	echo := spawn(b, k, "echo", KernelPID, nil, echoHandler(nil))
	client, _ := k.Process(spawn(b, k, "client", KernelPID, nil, echoHandler(nil)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := client.Request(ctx, ToProcess(echo), Text("x")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpawnStop measures spawning a mailbox process and stopping it.
func BenchmarkSpawnStop(b *testing.B) {
	k := newKernel(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		p, err := k.spawn(ctx, SpawnSpec{Name: "w", Kind: MailboxKind, InheritCaps: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := k.Stop(p.pid); err != nil {
			b.Fatal(err)
		}
		<-p.done
	}
}

// BenchmarkIPCRequestObserved is the round trip of an agent turn's IPC —
// the kernel's request to a process and the process's reply — with a
// subscriber on the event bus, as the daemon records every IPC send: the
// events published (with their target names) count.
func BenchmarkIPCRequestObserved(b *testing.B) {
	k := newKernel(b, Config{})
	ctx := context.Background()
	var seen atomic.Int64 // the subscriber runs on the sender's goroutine
	defer k.Bus().Subscribe(func(ev Event) {
		if _, ok := ev.Data.(IPCEvent); ok {
			seen.Add(1)
		}
	})()
	echo := spawn(b, k, "echo", KernelPID, nil, echoHandler(nil))
	body := JSONPayload([]byte(`{"message":"hi"}`))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Request(ctx, &Envelope{From: KernelPID, Target: ToProcess(echo), Payload: body}); err != nil {
			b.Fatal(err)
		}
	}
	if seen.Load() == 0 {
		b.Fatal("no IPC event published")
	}
}
