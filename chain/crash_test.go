package chain

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const crashChildEnv = "WEFTOS_CHAIN_CRASH_CHILD"

func crashOptions(t testing.TB) Options {
	opts := testOptions(t)
	opts.Clock = SystemClock{}
	opts.SegmentSize = 16 << 10
	opts.CheckpointEvery = 25
	opts.CheckpointInterval = 10 * time.Millisecond
	return opts
}

// crashChild runs in a re-executed test binary: it appends from several
// goroutines forever and prints "seq hash" for every acknowledged event. It
// exits when its stdin closes (the parent is gone).
func crashChild(dir string) {
	keys, err := GenerateKeys(shakeReader("node-test"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	opts := Options{ChainID: 7, Origin: "node-test", Keys: keys, Clock: SystemClock{}, DeterministicSignatures: true,
		SegmentSize: 16 << 10, CheckpointEvery: 25, CheckpointInterval: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	l, err := Open(context.Background(), dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	go func() {
		io.Copy(io.Discard, os.Stdin) //nolint:errcheck // EOF means the parent is gone
		os.Exit(3)
	}()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				e, err := l.Append(context.Background(), "crash", "k"+strconv.Itoa(w), map[string]int{"w": w, "i": i})
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "%d %s\n", e.Seq, e.Hash)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	acked := map[uint64]Hash{}
	const rounds = 20
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 1 + rng.IntN(300)
		sc := bufio.NewScanner(stdout)
		n := 0
		killed := false
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				t.Fatalf("child output %q", sc.Text())
			}
			seq, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			h, err := ParseHash(f[1])
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := acked[seq]; ok && prev != h {
				t.Fatalf("round %d: seq %d acknowledged twice with different hashes", round, seq)
			}
			acked[seq] = h
			n++
			if n == killAfter && !killed {
				killed = true
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		}
		stdin.Close()
		cmd.Wait() //nolint:errcheck // killed on purpose
		if !killed {
			t.Fatalf("round %d: child exited early: %s", round, stderr.String())
		}

		// Recover and check every acknowledged event.
		var logs logBuffer
		opts := crashOptions(t)
		opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		l := openLog(t, dir, opts)
		size := l.Len()
		for seq, h := range acked {
			if seq >= size {
				t.Fatalf("round %d: acknowledged seq %d lost (chain has %d)", round, seq, size)
			}
			e, err := l.Get(seq)
			if err != nil {
				t.Fatalf("round %d: seq %d: %v", round, seq, err)
			}
			if e.Hash != h {
				t.Fatalf("round %d: seq %d hash changed", round, seq)
			}
		}
		if round%5 == 4 {
			e, err := l.Append(context.Background(), "parent", "resume", nil)
			if err != nil {
				t.Fatal(err)
			}
			if e.Seq != size {
				t.Fatalf("resumed at %d, want %d", e.Seq, size)
			}
			acked[e.Seq] = e.Hash
		}
		closeLog(t, l)
		mustVerify(t, dir)
	}
	t.Logf("%d acknowledged events survived %d kills", len(acked), rounds)
}
