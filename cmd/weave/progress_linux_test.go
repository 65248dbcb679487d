package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal: tty is the terminal side a program writes to;
// what it writes collects from the other side.
type pty struct {
	tty     *os.File
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // a token after each read
}

func openPTY(t *testing.T) *pty {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pty: %v", err)
	}
	p := &pty{tty: tty, changed: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			p.mu.Lock()
			p.buf.Write(b[:n])
			p.mu.Unlock()
			select {
			case p.changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-done
	})
	return p
}

// waitFor waits until the terminal has shown want, or fails at the
// deadline.
func (p *pty) waitFor(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		got := p.buf.String()
		p.mu.Unlock()
		if strings.Contains(got, want) {
			return got
		}
		select {
		case <-p.changed:
		case <-deadline:
			t.Fatalf("the terminal shows %q, not %q", got, want)
		}
	}
}

// TestIngestProgressOnlyOnTerminal: memory ingest draws its progress bar
// when stderr is a terminal, and writes nothing there otherwise (a pipe,
// a log file) or with --json.
func TestIngestProgressOnlyOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel")
	}
	home := filepath.Join(t.TempDir(), "home")
	d := bootInProcess(t, home)
	t.Cleanup(func() { closeDaemon(t, d) })
	docs := t.TempDir()
	if err := os.WriteFile(filepath.Join(docs, "notes.md"), []byte("# Ops\n\nThe backup job runs nightly.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ingest := func(stderr io.Writer, extra ...string) string {
		t.Helper()
		var out bytes.Buffer
		if code := run(append([]string{"memory", "ingest", docs, "--home", home}, extra...), &out, stderr); code != 0 {
			t.Fatalf("ingest: exit %d", code)
		}
		return out.String()
	}

	var errb bytes.Buffer
	if out := ingest(&errb); !strings.Contains(out, "1 files") || errb.Len() != 0 {
		t.Fatalf("not a terminal: stdout %q, stderr %q", out, errb.String())
	}
	term := openPTY(t)
	ingest(term.tty)
	if got := term.waitFor(t, "1/1 files"); !strings.Contains(got, "\r["+strings.Repeat("#", 30)+"] 1/1 files, ") {
		t.Fatalf("terminal: %q", got)
	}
	quiet := openPTY(t)
	ingest(quiet.tty, "--json")
	fmt.Fprint(quiet.tty, "end")
	if got := quiet.waitFor(t, "end"); got != "end" {
		t.Fatalf("--json on a terminal: %q", got)
	}
}

// TestAnalyzeProgressOnlyOnTerminal: ecc analyze draws its progress bar
// (documents, chunks, edges) when stderr is a terminal, and nothing
// otherwise.
func TestAnalyzeProgressOnlyOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel")
	}
	home := filepath.Join(t.TempDir(), "home")
	d := bootInProcess(t, home)
	t.Cleanup(func() { closeDaemon(t, d) })
	docs := t.TempDir()
	for i, body := range []string{"# Ops\n\nAda Lovelace runs the backup nightly.\n", "# Dev\n\nGrace Hopper reviews it.\n"} {
		if err := os.WriteFile(filepath.Join(docs, fmt.Sprintf("n%d.md", i)), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"ecc", "analyze", docs, "--home", home}, &out, &errb); code != 0 || !strings.Contains(out.String(), "2 analysed") || errb.Len() != 0 {
		t.Fatalf("not a terminal: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	if err := os.WriteFile(filepath.Join(docs, "n2.md"), []byte("# More\n\nAnother note.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	term := openPTY(t)
	out.Reset()
	if code := run([]string{"ecc", "analyze", docs, "--home", home}, &out, term.tty); code != 0 {
		t.Fatalf("analyze: exit %d", code)
	}
	if got := term.waitFor(t, "3/3 documents"); !strings.Contains(got, "\r["+strings.Repeat("#", 30)+"] 3/3 documents, ") {
		t.Fatalf("terminal: %q", got)
	}
}
