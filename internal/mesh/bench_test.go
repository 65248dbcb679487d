package mesh

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkHandshake: a whole hybrid handshake over TCP loopback — dial,
// hello, three Noise messages with ML-KEM-768 and both certificates
// verified (Ed25519 + ML-DSA-65), the confirmation — as the initiator sees
// it. Reports the p50 and p99.
func BenchmarkHandshake(b *testing.B) {
	for _, suite := range []struct {
		name         string
		classical    bool
		firstContact bool // forget verified certificates before each handshake
	}{{"hybrid", false, false}, {"hybrid-first-contact", false, true}, {"classical", true, false}} {
		b.Run(suite.name, func(b *testing.B) {
			server := newEndpoint(b, Config{AllowClassical: true})
			client := newEndpoint(b, Config{AllowClassical: true, Classical: suite.classical})
			ctx := context.Background()
			ln, err := server.Listen(ctx, TCP{}, "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			addr := ln.Addr().String()
			accepted := make(chan *Link, 16)
			go func() {
				for {
					l, err := ln.Accept(ctx)
					if err != nil {
						close(accepted)
						return
					}
					accepted <- l
				}
			}()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				if suite.firstContact {
					client.certs.reset()
					server.certs.reset()
				}
				start := time.Now()
				l, err := client.Dial(ctx, TCP{}, addr, server.NodeID())
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				l.Close()
				(<-accepted).Close()
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			ln.Close()
			for l := range accepted {
				l.Close()
			}
		})
	}
}

// BenchmarkLinkThroughput: 1 MiB messages one way over one encrypted link
// on TCP loopback.
func BenchmarkLinkThroughput(b *testing.B) {
	client, server := newEndpoint(b, Config{}), newEndpoint(b, Config{})
	cl, sl, cerr, serr := pair(b, client, server, "", nil)
	if cerr != nil || serr != nil {
		b.Fatal(cerr, serr)
	}
	defer closeLinks(cl, sl)
	msg := make([]byte, 1<<20)
	ctx := context.Background()
	done := make(chan error, 1)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, err := sl.Recv(ctx); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		if err := cl.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCertVerify: what a handshake spends on each peer's certificate.
func BenchmarkCertVerify(b *testing.B) {
	e := newEndpoint(b, Config{})
	for b.Loop() {
		if _, err := verifyCert(e.cert, e.static.Public); err != nil {
			b.Fatal(err)
		}
	}
}
