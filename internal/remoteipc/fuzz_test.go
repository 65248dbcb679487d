package remoteipc

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/weftos/weftos/internal/cluster"
)

// FuzzServe: whatever another member sends, Serve answers a reply that
// decodes or an error, never panics.
func FuzzServe(f *testing.F) {
	for _, s := range []string{`{"op":"deliver","env":{"id":1}}`, `{"op":"spread","env":{"id":2}}`, `{"op":"resolve","name":"echo","method":"ping"}`,
		`{"op":"spawn","spawn":{"name":"x"}}`, `{"op":"ps","exited":true}`, `{"op":"checkpoint","since":3}`, `{}`, `null`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, ns, _, _ := newMesh(t, "a")
		ns["a"].k.services["echo.ping"] = true
		b, err := ns["a"].r.Serve(context.Background(), "z", body)
		if err != nil {
			var re *cluster.RemoteError
			if !errors.As(err, &re) && !errors.Is(err, ErrNoChain) {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		var rep Reply
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("reply does not decode: %v", err)
		}
	})
}

// FuzzDecodeReply: any answer decodes or fails as unreachable.
func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"env":{"id":1},"has":true,"pid":3}`))
	f.Add([]byte(`{"procs":[{"pid":1}]}`))
	f.Add([]byte(`x`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := decodeReply("n", b, nil)
		if err != nil && !errors.Is(err, cluster.ErrUnreachable) {
			t.Fatalf("%v", err)
		}
		if err == nil && rep.Env != nil && rep.Env.Origin != "n" {
			t.Fatal("origin not set")
		}
	})
}
