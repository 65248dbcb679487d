package mcpclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/landlock"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(&cleanup{m})
}

// cleanup removes the fake server's build directory after the tests.
type cleanup struct{ m *testing.M }

func (c *cleanup) Run() int {
	code := c.m.Run()
	if fakeBin != "" {
		_ = os.RemoveAll(filepath.Dir(fakeBin))
	}
	return code
}

var (
	fakeOnce sync.Once
	fakeBin  string
	fakeErr  error
	fakeOut  []byte
)

// fakeServer builds testdata/fakeserver once per test binary.
func fakeServer(t *testing.T) string {
	t.Helper()
	fakeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mcpclient-fake-")
		if err != nil {
			fakeErr = err
			return
		}
		fakeBin = filepath.Join(dir, "fakeserver")
		fakeOut, fakeErr = exec.Command("go", "build", "-o", fakeBin, "./testdata/fakeserver").CombinedOutput()
	})
	if fakeErr != nil {
		t.Fatalf("building the fake server: %v\n%s", fakeErr, fakeOut)
	}
	return fakeBin
}

func dialFake(t *testing.T, ws string, mode Mode) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := map[string]string{"WEFT_ALLOWED": "yes", "WEFT_SECRET": "hunter2"}
	c, err := Dial(ctx, Server{Name: "fake", Command: fakeServer(t), Env: []string{"WEFT_ALLOWED"}},
		Options{Confinement: Confinement{Workspace: ws, ReadOnly: []string{"/usr", "/lib", "/lib64", "/etc/ld.so.cache"}, Mode: mode,
			Getenv: func(k string) string { return env[k] }}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStdioServer(t *testing.T) {
	ws := t.TempDir()
	c := dialFake(t, ws, BestEffort)
	var names []string
	for _, tl := range c.Tools() {
		names = append(names, tl.Name)
	}
	if strings.Join(names, ",") != "echo,env,read" {
		t.Fatalf("tools %v", names)
	}
	ctx := context.Background()
	out, isErr, err := c.Call(ctx, "echo", []byte(`{"text":"hi"}`))
	if err != nil || isErr || out != "echo: hi" {
		t.Fatalf("echo: %q %v %v", out, isErr, err)
	}
	// Only allow-listed variables reach the program.
	out, _, err = c.Call(ctx, "env", []byte(`{"names":["WEFT_ALLOWED","WEFT_SECRET","HOME"]}`))
	if err != nil || out != "WEFT_ALLOWED=yes;WEFT_SECRET=;HOME="+ws+";" {
		t.Fatalf("env: %q %v", out, err)
	}
	// A tool error is a result, not a failure.
	out, isErr, err = c.Call(ctx, "read", []byte(`{"path":"nosuch"}`))
	if err != nil || !isErr {
		t.Fatalf("read nosuch: %q %v %v", out, isErr, err)
	}
	if err := os.WriteFile(filepath.Join(ws, "in.txt"), []byte("inside"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, isErr, err = c.Call(ctx, "read", []byte(`{"path":"in.txt"}`))
	if err != nil || isErr || out != "inside" {
		t.Fatalf("read inside: %q %v %v", out, isErr, err)
	}
	// Outside the workspace: confined programs cannot read it.
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("the-secret-content"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, isErr, err = c.Call(ctx, "read", []byte(`{"path":"`+outside+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, lerr := landlock.Supported(); lerr == nil {
		if !c.Confined() || !isErr || strings.Contains(out, "the-secret-content") {
			t.Fatalf("confined read outside the workspace: %q %v (confined %v)", out, isErr, c.Confined())
		}
	} else if c.Confined() || c.Note() == "" {
		t.Fatalf("no Landlock here, yet confined %v, note %q", c.Confined(), c.Note())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRequiredConfinement(t *testing.T) {
	if _, err := landlock.Supported(); err == nil {
		t.Skip("Landlock is available: nothing is refused")
	}
	_, err := Dial(context.Background(), Server{Name: "fake", Command: fakeServer(t)}, Options{Confinement: Confinement{Workspace: t.TempDir(), Mode: Required}})
	if err == nil || !strings.Contains(err.Error(), "cannot be confined") {
		t.Fatalf("err %v", err)
	}
}

func TestBadServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Dial(ctx, Server{Name: "rel", Command: "fakeserver"}, Options{}); err == nil {
		t.Fatal("relative command accepted")
	}
	// A program that is not an MCP server.
	if _, err := Dial(ctx, Server{Name: "true", Command: "/bin/true"}, Options{Confinement: Confinement{Workspace: t.TempDir(), Mode: Off}}); err == nil {
		t.Fatal("/bin/true spoke MCP")
	}
}

func TestHTTPServer(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "h", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "ping", Description: "pong"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Repeat("p", 100)}}}, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "bad name!", Description: "unofferable"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return nil, nil, nil
	})
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := Dial(context.Background(), Server{Name: "h", URL: srv.URL}, Options{HTTPClient: &http.Client{Transport: tr}, MaxOutput: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Tools()) != 1 || c.Tools()[0].Name != "ping" || !strings.Contains(c.Note(), "bad name!") {
		t.Fatalf("tools %+v note %q", c.Tools(), c.Note())
	}
	out, isErr, err := c.Call(context.Background(), "ping", nil)
	if err != nil || isErr || out != "pppppppppp…[90 more bytes cut]" {
		t.Fatalf("ping: %q %v %v", out, isErr, err)
	}
}
