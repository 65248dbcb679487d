//go:build js && wasm

// Command browser is the WeftOS light node for web pages (GOOS=js
// GOARCH=wasm): it verifies a node's exported chain with the same chain
// package the node uses, searches a memory snapshot, and chats with an
// agent over a daemon's gateway WebSocket. index.html is its page; see
// docs/PLATFORMS.md for how to build and serve it.
//
// It sets window.weft with promise-returning functions:
//
//	weft.verifyChain(url)             → VerifyResult as JSON
//	weft.loadSnapshot(url)            → number of records loaded
//	weft.search(query, k)             → hits as JSON
//	weft.connect(gateway, token, agent) → {"session","agent"} as JSON
//	weft.send(text, onFrame)          → the agent's answer (onFrame gets each frame as JSON)
//
// and window.weftReady = true once they are there.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"syscall/js"
	"time"

	"github.com/weftos/weftos/internal/gateway"
	"github.com/weftos/weftos/internal/lightnode"
)

var errNotConnected = errors.New("not connected: call weft.connect first")

type node struct {
	mu   sync.Mutex
	snap *lightnode.Snapshot
	chat *lightnode.Chat
}

func main() {
	// The page runs one goroutine at a time on one thread, so a collection
	// stops everything: collect less often (a page's heap is small).
	debug.SetGCPercent(400)
	n := &node{}
	api := js.Global().Get("Object").New()
	api.Set("verifyChain", asyncFunc(n.verifyChain))
	api.Set("loadSnapshot", asyncFunc(n.loadSnapshot))
	api.Set("search", asyncFunc(n.search))
	api.Set("connect", asyncFunc(n.connect))
	api.Set("send", asyncFunc(n.send))
	js.Global().Set("weft", api)
	js.Global().Set("weftReady", true)
	select {} // serve calls until the page goes away
}

// asyncFunc wraps fn as a JavaScript function returning a Promise; fn runs
// on its own goroutine (a blocking call on the event loop would deadlock
// with fetch and WebSocket callbacks).
func asyncFunc(fn func(ctx context.Context, args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) any {
		var executor js.Func
		executor = js.FuncOf(func(_ js.Value, pr []js.Value) any {
			resolve, reject := pr[0], pr[1]
			go func() {
				v, err := fn(context.Background(), args)
				if err != nil {
					reject.Invoke(js.Global().Get("Error").New(err.Error()))
					return
				}
				resolve.Invoke(v)
			}()
			return nil
		})
		p := js.Global().Get("Promise").New(executor) // the executor runs synchronously
		executor.Release()
		return p
	})
}

func arg(args []js.Value, i int) string {
	if i >= len(args) || args[i].IsUndefined() || args[i].IsNull() {
		return ""
	}
	return args[i].String()
}

// fetch gets url (relative to the page) and returns its body.
func fetch(ctx context.Context, url string) (io.ReadCloser, error) {
	abs := js.Global().Get("URL").New(url, js.Global().Get("location").Get("href")).Get("href").String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, abs, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

func toJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func (n *node) verifyChain(ctx context.Context, args []js.Value) (any, error) {
	body, err := fetch(ctx, arg(args, 0))
	if err != nil {
		return nil, err
	}
	defer body.Close()
	// Read first: the figure is the verification, not the download.
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	res, err := lightnode.VerifyChain(bytes.NewReader(data), time.Now)
	if err != nil {
		return nil, err
	}
	return toJSON(res)
}

func (n *node) loadSnapshot(ctx context.Context, args []js.Value) (any, error) {
	body, err := fetch(ctx, arg(args, 0))
	if err != nil {
		return nil, err
	}
	defer body.Close()
	snap, err := lightnode.LoadSnapshot(ctx, body)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	old := n.snap
	n.snap = snap
	n.mu.Unlock()
	if old != nil {
		_ = old.Close(ctx)
	}
	return snap.Len(), nil
}

func (n *node) search(ctx context.Context, args []js.Value) (any, error) {
	n.mu.Lock()
	snap := n.snap
	n.mu.Unlock()
	if snap == nil {
		return nil, errors.New("no snapshot: call weft.loadSnapshot first")
	}
	k := 5
	if len(args) > 1 && args[1].Type() == js.TypeNumber {
		k = args[1].Int()
	}
	hits, err := snap.Search(ctx, arg(args, 0), k)
	if err != nil {
		return nil, err
	}
	return toJSON(hits)
}

func (n *node) connect(ctx context.Context, args []js.Value) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ch, err := lightnode.DialChat(ctx, arg(args, 0), arg(args, 1), arg(args, 2))
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	old := n.chat
	n.chat = ch
	n.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return toJSON(map[string]string{"session": ch.Session, "agent": ch.Agent})
}

func (n *node) send(ctx context.Context, args []js.Value) (any, error) {
	n.mu.Lock()
	ch := n.chat
	n.mu.Unlock()
	if ch == nil {
		return nil, errNotConnected
	}
	var onFrame func(gateway.ServerFrame)
	if len(args) > 1 && args[1].Type() == js.TypeFunction {
		cb := args[1]
		onFrame = func(f gateway.ServerFrame) {
			if b, err := json.Marshal(f); err == nil {
				cb.Invoke(string(b))
			}
		}
	}
	return ch.Send(ctx, arg(args, 0), onFrame)
}
