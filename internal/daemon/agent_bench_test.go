//go:build !nollm

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cputime"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// benchDaemon boots a daemon whose OpenAI-compatible provider is srvURL.
func benchDaemon(b *testing.B, srvURL string) *Daemon {
	b.Helper()
	b.Setenv("OPENAI_BASE_URL", srvURL)
	b.Setenv("OPENAI_API_KEY", "bench")
	b.Setenv("ANTHROPIC_API_KEY", "")
	// As `weave boot` runs it: [kernel] procs applied (GOMAXPROCS).
	d, err := Open(context.Background(), Options{Home: b.TempDir(), Version: "test", SetRuntime: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeD(b, d) })
	return d
}

func ask(ctx context.Context, d *Daemon, pid kernel.PID, msg string) (agenthost.Reply, error) {
	body, _ := json.Marshal(agenthost.Request{Message: msg})
	env, err := d.kernel.Request(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(pid), Payload: kernel.JSONPayload(body)})
	if err != nil {
		return agenthost.Reply{}, err
	}
	var rep agenthost.Reply
	if err := json.Unmarshal(env.Payload.JSON, &rep); err != nil {
		return rep, err
	}
	if rep.Error != "" {
		return rep, fmt.Errorf("%s: %s", rep.Code, rep.Error)
	}
	return rep, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[int(float64(len(ds)-1)*p)]
}

// BenchmarkAgentTurnOverhead measures one agent turn through the kernel
// (IPC request to the agent process, the loop, three fsynced journal
// steps, the chain record of the LLM call, the reply) minus the time spent
// waiting for the model, against a zero-latency fake provider.
func BenchmarkAgentTurnOverhead(b *testing.B) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("ok") }})
	defer srv.Close()
	d := benchDaemon(b, srv.URL)
	ctx := context.Background()
	pid, err := d.agenthost.SessionAgent(ctx, RunRequest{Session: "bench", Workspace: b.TempDir(), Model: "openai/m"})
	if err != nil {
		b.Fatal(err)
	}
	var over []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%20 == 0 { // keep the session short, as a real one would be
			b.StopTimer()
			body, _ := json.Marshal(agenthost.Request{Reset: true})
			if _, err := d.kernel.Request(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(pid), Payload: kernel.JSONPayload(body)}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		start := time.Now()
		rep, err := ask(ctx, d, pid, "hi")
		if err != nil {
			b.Fatal(err)
		}
		over = append(over, time.Since(start)-time.Duration(rep.ModelMicros)*time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(over, 0.5).Microseconds()), "overhead-p50-µs")
	b.ReportMetric(float64(percentile(over, 0.99).Microseconds()), "overhead-p99-µs")
}

// BenchmarkStreamedTokenLatency measures the time from a fake provider
// flushing an SSE chunk to a local API client (as weft is) receiving the
// delta line: provider client, agent loop, kernel topic, API stream.
func BenchmarkStreamedTokenLatency(b *testing.B) {
	const chunks = 50
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := range chunks {
			c := fmt.Sprintf(`{"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"%d;"},"finish_reason":null}]}`, time.Now().UnixNano())
			fmt.Fprintf(w, "data: %s\n\n", c)
			fl.Flush()
			if i%10 == 9 {
				time.Sleep(time.Millisecond) // let the pipeline drain between bursts
			}
		}
		fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
		fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":50,"total_tokens":51}}`+"\n\ndata: [DONE]\n\n")
	})
	srv := &http.Server{Handler: mux}
	ln, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	d := benchDaemon(b, "http://"+ln.Addr().String()+"/v1")
	c, err := client.New(d.Home())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ws := b.TempDir()
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		req := RunRequest{Session: "tok" + strconv.Itoa(i), Workspace: ws, Model: "openai/m", Message: "go"}
		err := c.AgentRun(context.Background(), req, func(ev RunEvent) error {
			now := time.Now().UnixNano()
			if ev.Type == "error" {
				return fmt.Errorf("%s: %s", ev.Code, ev.Message)
			}
			if ev.Type != "delta" {
				return nil
			}
			for _, f := range strings.Split(ev.Text, ";") {
				if ts, err := strconv.ParseInt(f, 10, 64); err == nil {
					lat = append(lat, time.Duration(now-ts))
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds()), "token-p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "token-p99-µs")
}

// BenchmarkConcurrentAgents runs N agents at once against a fake provider
// answering after a fixed 100 ms, in a separate process (its CPU is not
// charged to the daemon). Each agent has its session open (an untimed
// first turn), then runs concurrentTurns timed turns back to back. It
// reports turns/s, the daemon process's CPU (user + system, from
// rusage: daemon, agents, kernel IPC, chain, journals, LLM client) per
// turn, and its heap allocations per turn.
func BenchmarkConcurrentAgents(b *testing.B) {
	fake := startFakeLLM(b, 100*time.Millisecond)
	d := benchDaemon(b, fake.url)
	ws := b.TempDir()
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ctx := context.Background()
			var turns int
			var elapsed, cpu, fakeCPU time.Duration
			var records, batches, mallocs uint64
			var sysr, sysw, vcsw, ivcsw, chainSyncs, events uint64
			for it := range b.N {
				pids := make([]kernel.PID, n)
				for i := range n {
					pid, err := d.agenthost.SessionAgent(ctx, RunRequest{Session: fmt.Sprintf("c%d-%d-%d", n, it, i), Workspace: ws, Model: "openai/m"})
					if err != nil {
						b.Fatal(err)
					}
					pids[i] = pid
				}
				// Untimed turns first: the first opens each session
				// (directory, lock, metadata); the second runs as the timed
				// ones do, all agents at once, so the model client's
				// connection pool grows to what that needs (the first turns
				// start as the sessions open, fewer at a time, and leave
				// fewer connections idle). The figure is for agents already
				// running.
				for range 2 {
					var warm sync.WaitGroup
					for _, pid := range pids {
						warm.Add(1)
						go func() {
							defer warm.Done()
							if _, err := ask(ctx, d, pid, "warm up"); err != nil {
								b.Error(err)
							}
						}()
					}
					warm.Wait()
				}
				stopProfile := profileTimed(b, n)
				cpu0, _ := cputime.Self()
				fake0, _ := fake.cpu()
				st0 := d.journals.Stats()
				cs0 := d.ops.ChainSyncs()
				ev0 := d.chain.Len()
				r0, w0, _ := processSyscalls()
				v0, iv0, _ := contextSwitches()
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				start := time.Now()
				var wg sync.WaitGroup
				errs := make(chan error, n)
				for _, pid := range pids {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range concurrentTurns {
							if _, err := ask(ctx, d, pid, "hi"); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				elapsed += time.Since(start)
				runtime.ReadMemStats(&ms1)
				mallocs += ms1.Mallocs - ms0.Mallocs
				cpu1, _ := cputime.Self()
				fake1, _ := fake.cpu()
				st1 := d.journals.Stats()
				r1, w1, _ := processSyscalls()
				v1, iv1, _ := contextSwitches()
				sysr, sysw, vcsw, ivcsw = sysr+r1-r0, sysw+w1-w0, vcsw+v1-v0, ivcsw+iv1-iv0
				chainSyncs += d.ops.ChainSyncs() - cs0
				events += d.chain.Len() - ev0
				records += st1.Records - st0.Records
				batches += st1.Batches - st0.Batches
				stopProfile()
				cpu += cpu1 - cpu0
				fakeCPU += fake1 - fake0
				turns += n * concurrentTurns
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				for _, pid := range pids {
					_ = d.kernel.Kill(pid)
				}
			}
			b.ReportMetric(float64(turns)/elapsed.Seconds(), "turns/s")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")
			if _, ok := cputime.Self(); ok {
				b.ReportMetric(float64(cpu.Microseconds())/float64(turns), "cpu-µs/turn")
			}
			b.ReportMetric(float64(mallocs)/float64(turns), "allocs/turn")
			if batches > 0 {
				b.ReportMetric(float64(records)/float64(batches), "journal-steps/fsync")
			}
			// The fsyncs per turn of the shared journal and of the chain,
			// read/write-class system calls (/proc/self/io: sockets,
			// files) and context switches (a thread blocking in a futex
			// or poll, or preempted).
			b.ReportMetric(float64(batches)/float64(turns), "journal-fsyncs/turn")
			b.ReportMetric(float64(events)/float64(turns), "chain-events/turn")
			b.ReportMetric(float64(chainSyncs)/float64(turns), "chain-fsyncs/turn")
			if _, _, ok := processSyscalls(); ok {
				b.ReportMetric(float64(sysr)/float64(turns), "read-syscalls/turn")
				b.ReportMetric(float64(sysw)/float64(turns), "write-syscalls/turn")
			}
			if _, _, ok := contextSwitches(); ok {
				b.ReportMetric(float64(vcsw)/float64(turns), "vol-ctxsw/turn")
				b.ReportMetric(float64(ivcsw)/float64(turns), "invol-ctxsw/turn")
			}
			if _, ok := fake.cpu(); ok {
				b.ReportMetric(float64(fakeCPU.Microseconds())/float64(turns), "provider-cpu-µs/turn")
			}
		})
	}
}

// profileEnv names a file to write a CPU profile of the timed part of
// BenchmarkConcurrentAgents/1000 to (go test's -cpuprofile would include
// the daemon's boot and the sessions' creation).
const profileEnv = "WEFTOS_BENCH_CPUPROFILE"

// allocsEnv names files for allocation profiles taken before and after
// the timed part of BenchmarkConcurrentAgents/1000 (PATH.base and PATH).
const allocsEnv = "WEFTOS_BENCH_ALLOCPROFILE"

func writeAllocs(b *testing.B, path string) {
	// The profile shows allocations as of the last completed collection:
	// without one here, the warm-up's allocations (sessions opened,
	// connections dialled) would be charged to the timed part.
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// traceEnv names a file to write an execution trace of the timed part of
// BenchmarkConcurrentAgents/1000 to (where agents wait: go tool trace
// -pprof=sync|syscall|net|sched).
const traceEnv = "WEFTOS_BENCH_TRACE"

// profileTimed starts the CPU profile of profileEnv for n = 1000 and
// returns what stops it.
func profileTimed(b *testing.B, n int) func() {
	if n != 1000 {
		return func() {}
	}
	if path := os.Getenv(allocsEnv); path != "" {
		// Allocations are counted from the start of the process: the
		// timed part is the difference (go tool pprof -diff_base).
		writeAllocs(b, path+".base")
		return func() { writeAllocs(b, path) }
	}
	if path := os.Getenv(traceEnv); path != "" {
		return recordTo(b, path, trace.Start, trace.Stop)
	}
	if path := os.Getenv(profileEnv); path != "" {
		return recordTo(b, path, pprof.StartCPUProfile, pprof.StopCPUProfile)
	}
	return func() {}
}

// recordTo starts a recording (a CPU profile, an execution trace) into
// the file at path and returns what stops it and closes the file.
func recordTo(b *testing.B, path string, start func(io.Writer) error, stop func()) func() {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := start(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		stop()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// concurrentTurns is the number of timed turns each agent of
// BenchmarkConcurrentAgents runs: 5, or $WEFTOS_BENCH_TURNS (longer runs
// give steadier figures and profiles).
var concurrentTurns = func() int {
	if n, err := strconv.Atoi(os.Getenv("WEFTOS_BENCH_TURNS")); err == nil && n > 0 {
		return n
	}
	return 5
}()

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
