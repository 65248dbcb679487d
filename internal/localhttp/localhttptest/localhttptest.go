// Package localhttptest serves a localhttp.Handler on a loopback listener
// for tests, with whichever HTTP implementation the build selected
// (net/http, or minihttp under the tag nonethttp), so handler tests run
// the same code in both builds. Tests call it with any HTTP/1.1 client.
package localhttptest

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/localhttp"
)

// NewServer serves h on 127.0.0.1 until the test ends and returns its base
// URL ("http://127.0.0.1:PORT").
func NewServer(t testing.TB, h localhttp.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &localhttp.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; err != nil && !errors.Is(err, localhttp.ErrServerClosed) {
			t.Errorf("localhttptest: Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
