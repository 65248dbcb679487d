package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/localhttp"
)

// The local API's round trip through the typed client and the real
// handler, over the Unix socket: with net/http (default build) or
// internal/minihttp (-tags …,nonethttp: the edge build). docs/BENCHMARKS.md,
// "Local API without net/http", compares the two.

type benchBackend struct{ k *kernel.Kernel }

func (b benchBackend) Kernel() *kernel.Kernel { return b.k }
func (b benchBackend) Status() apitype.Status { return apitype.Status{NodeID: "n1", Version: "bench"} }
func (b benchBackend) DefaultCaps() kernel.Capabilities {
	return kernel.Capabilities{CanIPC: true, IPCScope: kernel.ScopeAllowAll}
}
func (b benchBackend) AddCron(context.Context, apitype.CronRequest) (kernel.CronJob, error) {
	return kernel.CronJob{}, kernel.ErrInvalid
}
func (b benchBackend) RemoveCron(context.Context, string) error { return kernel.ErrUnknownJob }
func (b benchBackend) Config() apitype.ConfigResponse           { return apitype.ConfigResponse{} }
func (b benchBackend) Shutdown()                                {}

func benchServer(b *testing.B) *Client {
	b.Helper()
	k, err := kernel.New(kernel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	home := b.TempDir()
	ln, token, err := localapi.Listen(home)
	if err != nil {
		b.Skipf("no local API listener here: %v", err)
	}
	srv := &localhttp.Server{Handler: localapi.NewHandler(localapi.Options{Backend: benchBackend{k}, Token: token}), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c, err := New(home)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		c.Close()
		_ = srv.Close()
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = k.Close(ctx)
	})
	return c
}

// BenchmarkLocalAPIStatus: GET /v1/status, a small JSON answer.
func BenchmarkLocalAPIStatus(b *testing.B) {
	c := benchServer(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if st, err := c.Status(ctx); err != nil || st.NodeID != "n1" {
			b.Fatal(st, err)
		}
	}
}

// BenchmarkLocalAPIPostError: POST /v1/cron with a JSON body, strictly
// decoded, answered with an API error.
func BenchmarkLocalAPIPostError(b *testing.B) {
	c := benchServer(b)
	ctx := context.Background()
	req := apitype.CronRequest{Name: "nightly", Schedule: "0 3 * * *", Target: kernel.Target{Kind: kernel.TargetProcess, PID: 7}, Payload: kernel.Text("go")}
	b.ReportAllocs()
	for b.Loop() {
		_, err := c.CronAdd(ctx, req)
		var ae *APIError
		if !errors.As(err, &ae) {
			b.Fatal(err)
		}
	}
}
