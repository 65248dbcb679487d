package llm

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

// pipeServer answers every connection its dial opens with answer: it reads
// one request, writes answer and closes.
type pipeServer struct {
	answer []byte
	wg     sync.WaitGroup
}

func (s *pipeServer) dial(context.Context, string, string) (net.Conn, error) {
	c, srv := net.Pipe()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer srv.Close()
		req, err := http.ReadRequest(bufio.NewReader(srv))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = srv.Write(s.answer)
	}()
	return c, nil
}

type dialFunc = func(context.Context, string, string) (net.Conn, error)

// answerVia sends one request through a transport made by mk whose
// connections are answered with answer, and returns what the client saw.
func answerVia(answer []byte, method string, mk func(dialFunc) http.RoundTripper) exchange {
	s := &pipeServer{answer: answer}
	rt := mk(s.dial)
	var body []byte
	if method == http.MethodPost {
		body = []byte(`{"model":"m"}`)
	}
	hdr := http.Header{"User-Agent": {userAgent}, "Content-Type": {"application/json"}}
	ex := roundTrip(rt, method, "http://model.test/v1/chat/completions", body, hdr)
	rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	s.wg.Wait()
	if len(ex.Trailer) == 0 {
		ex.Trailer = nil
	}
	return ex
}

// FuzzDirectResponse: for any answer, the direct transport gives the
// client what net/http's transport gives it when both read it to its end,
// and refuses what net/http refuses.
func FuzzDirectResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\ne\r\ndata: {\"a\":1}\n\n\r\n0\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nclose-delimited",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.0 200 \nTrailer:0\n\n",
		"HTTP/1.1 200 \nTransfer-Encoding:Chunked\n\n0\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, answer []byte, head bool) {
		method := http.MethodPost
		if head {
			method = http.MethodHead
		}
		want := answerVia(answer, method, func(dial dialFunc) http.RoundTripper {
			return &http.Transport{DialContext: dial, DisableCompression: true}
		})
		got := answerVia(answer, method, func(dial dialFunc) http.RoundTripper {
			return newDirectTransport(&http.Transport{DialContext: dial})
		})
		if want.Err != "" {
			if got.Err == "" {
				t.Fatalf("direct accepted what net/http refuses: %q\ndirect %+v", answer, got)
			}
			return
		}
		if got.Err != "" {
			return // stricter than net/http: minihttp's limits
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("disagreement on %q:\nnet/http %+v\ndirect   %+v", answer, want, got)
		}
	})
}
