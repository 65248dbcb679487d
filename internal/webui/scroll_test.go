package webui_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/weftos/weftos/internal/webui"
)

// millionChain is a local API that answers the chain explorer's reads for
// a chain of a million events, made up on the fly, and counts how many
// events it served.
type millionChain struct {
	n      uint64
	served atomic.Int64
}

func (m *millionChain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v1/chain/status":
		fmt.Fprintf(w, `{"length":%d,"checkpoints":1000,"keys":{"origin":"n","chain_id":1,"ed25519_public_key":"","mldsa65_public_key":"","fingerprint":"f"}}`, m.n)
	case r.URL.Path == "/v1/chain/keys":
		fmt.Fprint(w, `{"origin":"n","chain_id":1,"ed25519_public_key":"","mldsa65_public_key":"","fingerprint":"f"}`)
	case r.URL.Path == "/v1/chain/events" && r.URL.Query().Has("from"):
		from, _ := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
		n, _ := strconv.ParseUint(r.URL.Query().Get("n"), 10, 64)
		var evs []map[string]any
		for s := from; s < from+n && s < m.n; s++ {
			evs = append(evs, map[string]any{"seq": s, "chain_id": 1, "ts": 1700000000000000000 + s, "prev_hash": strings.Repeat("0", 64),
				"source": "kernel", "kind": "synthetic.event", "payload": nil, "payload_hash": strings.Repeat("0", 64), "hash": strings.Repeat("0", 64)})
		}
		m.served.Add(int64(len(evs)))
		_ = json.NewEncoder(w).Encode(evs)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"code":"not_found","message":"not in this fake"}}`)
	}
}

// scrollMillion checks that the explorer scrolls a million events while
// fetching only the pages on screen.
func scrollMillion(t *testing.T, f *fixture) {
	api := &millionChain{n: 1_000_000}
	s := webui.New(webui.Options{API: api})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.SetAddr(ln.Addr().String())
	srv := &http.Server{Handler: s}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	link, _, err := s.NewLogin()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	origin := "http://" + u.Host
	// This fake serves only the chain: the overview shows an error, and the
	// session is there once the log-out button is.
	f.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`#logout`)))
	f.do(chromedp.Navigate(origin+"/#/chain"), chromedp.WaitVisible(chromedp.CSS(`main[data-page="chain"]`)))
	f.waitText("#chain-count", "1000000 events")
	// Following the newest: the last event is on screen.
	f.waitText("#chain-scroller", "#999999")
	for _, frac := range []string{"0.5", "0.25", "0"} {
		f.eval(`(() => { const s = document.getElementById('chain-scroller'); s.scrollTop = ` + frac + ` * (s.scrollHeight - s.clientHeight); return 'ok'; })()`)
		want := map[string]string{"0.5": "#4999", "0.25": "#2499", "0": "#0"}[frac]
		f.waitText("#chain-scroller", want)
	}
	if n := api.served.Load(); n > 2000 {
		t.Fatalf("scrolling fetched %d events of 1M: it must fetch only what is on screen", n)
	} else {
		t.Logf("scrolled a 1M-event chain end, middle, quarter and start fetching %d events", n)
	}
}
