package lightnode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/weftos/weftos/chain/chaintest"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/gateway"
	"github.com/weftos/weftos/internal/memory"
)

func TestVerifyChain(t *testing.T) {
	exp := chaintest.Export(t, "node-a", "lightnode", 50)
	res, err := VerifyChain(bytes.NewReader(exp), time.Now)
	if err != nil || !res.OK || res.Events != 50 || res.Checkpoints == 0 || res.Problem != "" {
		t.Fatalf("good export: %+v, %v", res, err)
	}
	// One changed payload byte: the event's hash no longer matches.
	bad := bytes.Replace(exp, []byte(`{"from":7,`), []byte(`{"from":9,`), 1)
	if bytes.Equal(bad, exp) {
		t.Fatal("test export has no event from 7")
	}
	res, err = VerifyChain(bytes.NewReader(bad), time.Now)
	if err != nil || res.OK || res.Problem == "" || res.Events != 7 {
		t.Fatalf("tampered export: %+v, %v", res, err)
	}
}

// Snapshot writes records as a snapshot.
func snapshot(t testing.TB, texts ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for i, s := range texts {
		b, err := json.Marshal(memory.Record{ID: memory.ContentID(s), Text: s, Meta: memory.Meta{Source: "doc", Time: time.Unix(int64(i), 0).UTC()}, ChainSeq: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func TestSnapshotSearch(t *testing.T) {
	ctx := context.Background()
	snap, err := LoadSnapshot(ctx, bytes.NewReader(snapshot(t,
		"The chain is verified with Ed25519 and ML-DSA-65 signatures.",
		"Bananas are yellow and grow in bunches.",
		"Agents are kernel processes with capabilities.")))
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close(ctx)
	if snap.Len() != 3 {
		t.Fatalf("len %d", snap.Len())
	}
	hits, err := snap.Search(ctx, "yellow bananas", 1)
	if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Record.Text, "Bananas") || hits[0].Record.ChainSeq != 2 {
		t.Fatalf("hits %+v, %v", hits, err)
	}
}

func TestSnapshotRejects(t *testing.T) {
	good := memory.Record{ID: memory.ContentID("a text"), Text: "a text"}
	forged := good
	forged.Text = "another text"
	line := func(r memory.Record) string { b, _ := json.Marshal(r); return string(b) }
	for name, in := range map[string]string{
		"not json":      "{",
		"forged id":     line(forged),
		"unknown field": `{"id":"` + good.ID + `","text":"a text","meta":{"time":"2026-01-01T00:00:00Z"},"chain_seq":1,"extra":1}`,
		"empty text":    `{"id":"x","text":"","meta":{"time":"2026-01-01T00:00:00Z"},"chain_seq":1}`,
		"trailing":      line(good) + " {}",
	} {
		if _, err := LoadSnapshot(context.Background(), strings.NewReader(in)); !errors.Is(err, ErrSnapshot) {
			t.Errorf("%s: err %v, want ErrSnapshot", name, err)
		}
	}
}

func FuzzLoadSnapshot(f *testing.F) {
	f.Add(string(snapshot(f, "hello world", "second record")))
	f.Add(`{"id":"x","text":"y"}`)
	f.Fuzz(func(t *testing.T, in string) {
		ctx := context.Background()
		snap, err := LoadSnapshot(ctx, strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error %v is not ErrSnapshot", err)
			}
			return
		}
		defer snap.Close(ctx)
		if _, err := snap.Search(ctx, "hello", 3); err != nil {
			t.Fatal(err)
		}
	})
}

// fakeGateway speaks the gateway's WebSocket protocol: it checks the
// subprotocols, sends "ready", and answers each message with a delta and a
// final frame echoing it (or an error frame for "fail").
func fakeGateway(t *testing.T, token string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/ws" {
			http.NotFound(w, r)
			return
		}
		protos := r.Header.Get("Sec-WebSocket-Protocol")
		if !strings.Contains(protos, "bearer."+token) {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{gateway.Subprotocol}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		write := func(f gateway.ServerFrame) error {
			b, _ := json.Marshal(f)
			return c.Write(ctx, websocket.MessageText, b)
		}
		if write(gateway.ServerFrame{RunEvent: apitype.RunEvent{Type: "ready"}, Session: "ws-s", Agent: r.URL.Query().Get("agent")}) != nil {
			return
		}
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			f, err := gateway.ParseClientFrame(b)
			if err != nil {
				t.Errorf("client frame: %v", err)
				return
			}
			if f.Text == "fail" {
				_ = write(gateway.ServerFrame{RunEvent: apitype.RunEvent{Type: "error", Code: "denied", Message: "no"}, ID: f.ID})
				continue
			}
			_ = write(gateway.ServerFrame{RunEvent: apitype.RunEvent{Type: "delta", Text: "echo"}, ID: f.ID})
			_ = write(gateway.ServerFrame{RunEvent: apitype.RunEvent{Type: "final", Answer: "echo: " + f.Text}, ID: f.ID})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestChat(t *testing.T) {
	srv := fakeGateway(t, "wgw_secret")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := DialChat(ctx, srv.URL, "wrong", ""); !errors.Is(err, ErrChat) {
		t.Fatalf("wrong token: %v", err)
	}
	ch, err := DialChat(ctx, srv.URL, "wgw_secret", "default")
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if ch.Session != "ws-s" || ch.Agent != "default" {
		t.Fatalf("ready: %+v", ch)
	}
	var frames []string
	for i := range 2 {
		got, err := ch.Send(ctx, fmt.Sprintf("hi %d", i), func(f gateway.ServerFrame) { frames = append(frames, f.Type) })
		if err != nil || got != fmt.Sprintf("echo: hi %d", i) {
			t.Fatalf("answer %q, %v", got, err)
		}
	}
	if strings.Join(frames, ",") != "delta,final,delta,final" {
		t.Fatalf("frames %v", frames)
	}
	if _, err := ch.Send(ctx, "fail", nil); !errors.Is(err, ErrChat) || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("error frame: %v", err)
	}
	if _, err := DialChat(ctx, "ftp://x", "t", ""); !errors.Is(err, ErrChat) {
		t.Fatalf("bad scheme: %v", err)
	}
}

func BenchmarkVerifyChain(b *testing.B) {
	exp := chaintest.Export(b, "node-a", "lightnode", 20_000)
	b.ResetTimer()
	for b.Loop() {
		res, err := VerifyChain(bytes.NewReader(exp), time.Now)
		if err != nil || !res.OK {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(20_000*b.N)/b.Elapsed().Seconds(), "events/s")
}
