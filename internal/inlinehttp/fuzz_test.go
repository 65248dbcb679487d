package inlinehttp

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"reflect"
	"sync"
	"testing"
)

// pipeDialer serves each connection it dials with answer: it reads one
// request and writes answer, then closes.
type pipeDialer struct {
	answer []byte
	wg     sync.WaitGroup
}

func (d *pipeDialer) dial(context.Context, string, string) (net.Conn, error) {
	c, s := net.Pipe()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer s.Close()
		req, err := http.ReadRequest(bufio.NewReader(s))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = s.Write(d.answer)
	}()
	return c, nil
}

// FuzzResponse: the caller sees what net/http's transport gives it for
// any answer both accept and read to the end; an answer net/http refuses
// this transport refuses too.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\ne\r\ndata: {\"a\":1}\n\n\r\n0\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nclose-delimited",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 2\r\n\r\n{}",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, answer []byte, head bool) {
		method := http.MethodPost
		if head {
			method = http.MethodHead
		}
		run := func(rt func(*pipeDialer) http.RoundTripper) outcome {
			d := &pipeDialer{answer: answer}
			c := &http.Client{Transport: rt(d)}
			var body []byte
			if !head {
				body = []byte(`{"model":"m"}`)
			}
			o := do(t, c, newReq(t, method, "http://model.test/v1/chat", body))
			c.CloseIdleConnections()
			d.wg.Wait()
			return o
		}
		want := run(func(d *pipeDialer) http.RoundTripper {
			return &http.Transport{DialContext: d.dial, DisableCompression: true}
		})
		got := run(func(d *pipeDialer) http.RoundTripper {
			return &Transport{DialContext: d.dial, Proxy: noProxy, Fallback: failingRT{t}}
		})
		if want.Err || want.BodyErr {
			if !got.Err && !got.BodyErr {
				t.Fatalf("inline accepted what net/http refuses: %q\ninline %+v", answer, got)
			}
			return
		}
		if got.Err || got.BodyErr {
			return // stricter than net/http: minihttp's limits
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("disagreement on %q:\nnet/http %+v\ninline   %+v", answer, want, got)
		}
	})
}

type failingRT struct{ t *testing.T }

func (f failingRT) RoundTrip(*http.Request) (*http.Response, error) {
	f.t.Fatal("fallback used")
	return nil, nil
}
