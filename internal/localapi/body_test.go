package localapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/localhttp"
	"github.com/weftos/weftos/internal/localhttp/localhttptest"
)

func TestDecodeStrict(t *testing.T) {
	type inner struct {
		A int `json:"a"`
	}
	type req struct {
		Name  string         `json:"name"`
		In    inner          `json:"in"`
		List  []inner        `json:"list"`
		Extra map[string]int `json:"extra"`
	}
	for _, tc := range []struct {
		name, body string
		want       string // substring of the error; "" means success
	}{
		{"ok", `{"name":"x","in":{"a":1},"list":[{"a":1},{"a":2}],"extra":{"a":1,"b":2}}`, ""},
		{"ok whitespace", " \n{\"name\":\"x\"}\n\t", ""},
		{"same key in sibling objects", `{"list":[{"a":1},{"a":2}]}`, ""},
		{"key equal to a string value", `{"name":"name"}`, ""},
		{"duplicate top", `{"name":"x","name":"y"}`, `duplicate object member "name"`},
		{"duplicate nested", `{"in":{"a":1,"a":2}}`, `duplicate object member "a"`},
		{"duplicate in array element", `{"list":[{"a":1},{"a":1,"a":2}]}`, `duplicate object member "a"`},
		{"duplicate in map", `{"extra":{"k":1,"k":2}}`, `duplicate object member "k"`},
		{"escaped duplicate", `{"name":"x","n\u0061me":"y"}`, `duplicate object member "name"`},
		{"trailing value", `{"name":"x"}{"name":"y"}`, "data after the JSON value"},
		{"trailing scalar", `{"name":"x"} 1`, "data after the JSON value"},
		{"trailing garbage", `{"name":"x"} x`, "invalid character"},
		{"unknown field", `{"nme":"x"}`, "unknown field"},
		{"empty", ``, "unexpected EOF"},
		{"truncated", `{"name":`, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r req
			err := decodeStrict([]byte(tc.body), &r)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzCheckStrict(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"a":2}`, `[1,{"b":[{}]}]`, `{} {}`, `"x"`, `{"a":{"a":{"a":1}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := checkStrict(data)
		var v any
		stdErr := decodeStrict(data, &v)
		if err == nil && stdErr != nil {
			t.Fatalf("checkStrict accepted %q that decoding rejects: %v", data, stdErr)
		}
		if err != nil && !errors.Is(err, errDuplicateKey) && !errors.Is(err, errTrailing) && stdErr == nil {
			t.Fatalf("inconsistent: %v / %v", err, stdErr)
		}
	})
}

// TestDecodeBodyOverHTTP: the strict rules reach clients as invalid_argument,
// a body over the cap is too_large, and a stalled body is cut off.
func TestDecodeBodyOverHTTP(t *testing.T) {
	old := bodyTimeout
	t.Cleanup(func() { bodyTimeout = old })
	base := localhttptest.NewServer(t, localhttp.HandlerFunc(func(w localhttp.ResponseWriter, r *localhttp.Request) {
		var v struct {
			A int `json:"a"`
		}
		if DecodeBody(w, r, &v) {
			fmt.Fprintf(w, "a=%d", v.A)
		}
	}))
	post := func(body string) (int, string) {
		resp, err := http.Post(base, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		body, want string
		status     int
	}{
		{`{"a":1}`, "a=1", 200},
		{`{"a":1,"a":2}`, `"code":"invalid_argument"`, 400},
		{`{"a":1} {"a":2}`, "data after the JSON value", 400},
		{`{"a":` + strings.Repeat(" ", MaxBody) + `1}`, `"code":"too_large"`, 413},
	} {
		if status, got := post(tc.body); status != tc.status || !strings.Contains(got, tc.want) {
			t.Errorf("body %.40q: %d %s, want %d with %q", tc.body, status, got, tc.status, tc.want)
		}
	}

	// A client that announces a body and never sends it is answered (or
	// dropped) once the body deadline passes, not held open. (A short
	// deadline only here: a loaded machine may take longer than it to send
	// the 4 MiB body above.)
	bodyTimeout = 200 * time.Millisecond
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("stalled body answered %d", resp.StatusCode)
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a stalled body held the connection open")
	}
}
