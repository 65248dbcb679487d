package daemon

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/llm/llmtest"
)

// fakeLLMEnv, when set to a latency (a Go duration), turns the test binary
// into a fake OpenAI-compatible provider answering "ok" after that
// latency: it prints its base URL on stdout and serves until stdin closes.
// Benchmarks run it as a separate process so that the provider's CPU is
// not charged to the daemon they measure.
const fakeLLMEnv = "WEFTOS_BENCH_FAKE_LLM_LATENCY"

// fakeProfileEnv names a file for a CPU profile of the fake provider's
// whole life.
const fakeProfileEnv = "WEFTOS_BENCH_PROVIDER_CPUPROFILE"

// serveFakeLLM is the child's main.
func serveFakeLLM(latency string) int {
	lat, err := time.ParseDuration(latency)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake llm:", err)
		return 2
	}
	// The provider stands in for a remote service: its garbage collection
	// is tuned for throughput, so it takes as little of the shared CPUs
	// from the daemon as it can.
	debug.SetGCPercent(1000)
	srv := llmtest.NewOpenAI(llmtest.Options{Latency: lat, ForgetRequests: true,
		Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("ok") }})
	defer srv.Close()
	if path := os.Getenv(fakeProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake llm:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "fake llm:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if _, err := fmt.Println(srv.URL); err != nil {
		return 3
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin (or dies)
	return 0
}

// fakeLLM is a fake provider running in a child process.
type fakeLLM struct {
	url string
	pid int
}

// cpu is the CPU time the fake provider's process has used so far.
func (f fakeLLM) cpu() (time.Duration, bool) { return childCPU(f.pid) }

// startFakeLLM runs the fake provider in a child process (this test binary
// with fakeLLMEnv set). The child stops when the benchmark ends.
func startFakeLLM(tb testing.TB, latency time.Duration) fakeLLM {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fakeLLMEnv+"="+latency.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			tb.Errorf("fake llm process: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("fake llm process: %v", err)
	}
	return fakeLLM{url: strings.TrimSpace(line), pid: cmd.Process.Pid}
}
