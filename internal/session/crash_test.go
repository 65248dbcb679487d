package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestCrashRecovery runs a child process that appends steps and SIGKILLs
// it at random points, several rounds on the same session. After each
// kill, every step the child reported as completed must be in the journal,
// the journal must reopen cleanly, and the next child continues from it.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const rounds = 8
	var acked uint64
	torn := 0
	for round := range rounds {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+home)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 1 + rng.IntN(30)
		sc := bufio.NewScanner(out)
		n, killed := 0, false
		for sc.Scan() {
			seq, err := strconv.ParseUint(sc.Text(), 10, 64)
			if err != nil {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			if seq != acked+1 {
				t.Fatalf("round %d: child acked seq %d after %d", round, seq, acked)
			}
			acked = seq
			if n++; n == killAfter && !killed {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		// Acks already in the pipe when the kill landed are read above too:
		// they were printed after Append returned, so they count.
		werr := cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child exited on its own: %v\n%s", round, werr, stderr.String())
		}

		s, err := Open(home, "crash")
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		if s.Recovered().TornBytes > 0 {
			torn++
		}
		steps := stepsOf(t, s)
		if uint64(len(steps)) < acked {
			t.Fatalf("round %d: journal has %d steps, child completed %d", round, len(steps), acked)
		}
		for i, st := range steps {
			want := crashStep(uint64(i + 1))
			var compact bytes.Buffer
			if err := json.Compact(&compact, want.Data); err != nil {
				t.Fatal(err)
			}
			if st.Seq != uint64(i+1) || st.Type != want.Type || !bytes.Equal(st.Data, compact.Bytes()) {
				t.Fatalf("round %d: step %d is %d/%s, want %s", round, i+1, st.Seq, st.Type, want.Type)
			}
		}
		checkCrashState(t, s.Resume(), uint64(len(steps)))
		// A step may have been written but not acked; the next child
		// continues after it, so acked catches up.
		acked = uint64(len(steps))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rounds, %d steps, %d torn records truncated", rounds, acked, torn)
}

// checkCrashState checks Resume against the crash test's step pattern.
func checkCrashState(t *testing.T, st State, n uint64) {
	t.Helper()
	if st.LastSeq != n {
		t.Fatalf("LastSeq %d, want %d", st.LastSeq, n)
	}
	cycles := n / 5
	phase := n % 5 // steps into the current cycle
	wantCompleted := int(cycles)
	if phase >= 4 {
		wantCompleted++
	}
	if len(st.Completed) != wantCompleted {
		t.Fatalf("%d completed tool calls after %d steps, want %d", len(st.Completed), n, wantCompleted)
	}
	wantPending, wantNotStarted := 0, 0
	switch phase {
	case 2:
		wantNotStarted = 1
	case 3:
		wantPending = 1
	}
	if len(st.Pending) != wantPending || len(st.NotStarted) != wantNotStarted {
		t.Fatalf("after %d steps: pending %v, not started %v", n, st.Pending, st.NotStarted)
	}
	if want := fmt.Sprintf("call-%d", cycles); wantPending == 1 && st.Pending[0].ID != want {
		t.Fatalf("pending %q, want %q", st.Pending[0].ID, want)
	}
}

// TestCrashRecoveryCommitted is TestCrashRecovery with several sessions
// appending at once through a Committer (small log files, so kills land
// during retirements too): after each kill, reopening the committer
// replays its log and every step a child reported must be there.
func TestCrashRecoveryCommitted(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	acked := map[string]uint64{}
	for round := range 5 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+home, crashCommitEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 1 + rng.IntN(120)
		sc := bufio.NewScanner(out)
		n, killed := 0, false
		for sc.Scan() {
			var name string
			var seq uint64
			if _, err := fmt.Sscanf(sc.Text(), "%s %d", &name, &seq); err != nil {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			acked[name] = max(acked[name], seq)
			if n++; n == killAfter && !killed {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		werr := cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child exited on its own: %v\n%s", round, werr, stderr.String())
		}
		c, err := OpenCommitter(context.Background(), home)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		for _, name := range crashSessions {
			s, err := Open(home, name, WithCommitter(c))
			if err != nil {
				t.Fatalf("round %d: reopen %s: %v", round, name, err)
			}
			steps := stepsOf(t, s)
			if uint64(len(steps)) < acked[name] {
				t.Fatalf("round %d: %s has %d steps, child completed %d", round, name, len(steps), acked[name])
			}
			for i, st := range steps {
				want := crashStep(uint64(i + 1))
				if st.Seq != uint64(i+1) || st.Type != want.Type || !bytes.Equal(st.Data, want.Data) {
					t.Fatalf("round %d: %s: step %d is %d/%s, want %s", round, name, i+1, st.Seq, st.Type, want.Type)
				}
			}
			checkCrashState(t, s.Resume(), uint64(len(steps)))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("acknowledged steps: %v", acked)
}
