package kernel

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestAttenuate(t *testing.T) {
	parent := Capabilities{
		CanSpawn: true, CanIPC: true, CanExecTools: true,
		IPCScope: RestrictedTo(7, 8),
		Tools:    ToolPolicy{Allow: []string{"fs.*", "web_fetch"}, Deny: []string{"fs.delete"}},
		Sandbox:  SandboxPolicy{AllowedPaths: []string{"/work"}, DeniedPaths: []string{"/work/secret"}},
		Limits:   Limits{ToolCalls: 100, Tokens: 1000},
		Memory:   MemoryShared,
	}
	cases := []struct {
		name string
		req  Capabilities
		ok   bool
	}{
		{"empty", Capabilities{}, true},
		{"same booleans", Capabilities{CanSpawn: true, CanIPC: true, CanExecTools: true}, true},
		{"network", Capabilities{CanNetwork: true}, false},
		{"shell", Capabilities{Sandbox: SandboxPolicy{Shell: true}}, false},
		{"scope all", Capabilities{CanIPC: true, IPCScope: ScopeAllowAll}, false},
		{"scope subset", Capabilities{CanIPC: true, IPCScope: RestrictedTo(7)}, true},
		{"scope to parent pid", Capabilities{CanIPC: true, IPCScope: RestrictedTo(5)}, true},
		{"scope outside", Capabilities{CanIPC: true, IPCScope: RestrictedTo(9)}, false},
		{"scope parent-only", Capabilities{CanIPC: true, IPCScope: ScopeToParent}, true},
		{"scope topic", Capabilities{CanIPC: true, IPCScope: TopicsOnly("x")}, false},
		{"tool literal", Capabilities{Tools: ToolPolicy{Allow: []string{"fs.read"}}}, true},
		{"tool same glob", Capabilities{Tools: ToolPolicy{Allow: []string{"fs.*"}}}, true},
		{"tool narrower glob", Capabilities{Tools: ToolPolicy{Allow: []string{"fs.r*"}}}, true},
		{"tool broader glob", Capabilities{Tools: ToolPolicy{Allow: []string{"*"}}}, false},
		{"tool other", Capabilities{Tools: ToolPolicy{Allow: []string{"shell_exec"}}}, false},
		{"path inside", Capabilities{Sandbox: SandboxPolicy{AllowedPaths: []string{"/work/src"}}}, true},
		{"path outside", Capabilities{Sandbox: SandboxPolicy{AllowedPaths: []string{"/etc"}}}, false},
		{"path dotdot", Capabilities{Sandbox: SandboxPolicy{AllowedPaths: []string{"/work/../etc"}}}, false},
		{"path denied", Capabilities{Sandbox: SandboxPolicy{AllowedPaths: []string{"/work/secret/x"}}}, false},
		{"limit lower", Capabilities{Limits: Limits{ToolCalls: 10}}, true},
		{"limit higher", Capabilities{Limits: Limits{ToolCalls: 101}}, false},
		{"limit new", Capabilities{Limits: Limits{Messages: 5}}, true},
		{"memory own", Capabilities{Memory: MemoryOwn}, true},
		{"memory wider", Capabilities{Memory: MemoryAll}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Attenuate(parent, c.req, 5, 0)
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrCapabilityExceeds) {
					t.Fatalf("error %v does not match ErrCapabilityExceeds", err)
				}
				return
			}
			if got.Limits.Tokens != 1000 && c.req.Limits.Tokens == 0 {
				t.Errorf("token limit not inherited: %d", got.Limits.Tokens)
			}
			if !got.Tools.Permits("fs.read") && len(c.req.Tools.Allow) > 0 && c.req.Tools.Allow[0] != "web_fetch" {
				t.Errorf("child lost fs.read")
			}
			if got.Tools.Permits("fs.delete") {
				t.Errorf("child may call the parent's denied tool")
			}
		})
	}
	// A child's attenuated set never exceeds the parent's: the result is a
	// valid request against the parent again.
	got, err := Attenuate(parent, Capabilities{CanIPC: true, IPCScope: RestrictedTo(8), Limits: Limits{ToolCalls: 3}}, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Attenuate(parent, got, 5, 0); err != nil {
		t.Fatalf("re-attenuating an attenuated set: %v", err)
	}
}

func TestParseScope(t *testing.T) {
	for _, s := range []string{"all", "none", "parent", "restricted(1,2)", "topic(a,b)"} {
		sc, err := ParseScope(s)
		if err != nil || sc.String() != s {
			t.Errorf("%s → %v %v", s, sc, err)
		}
	}
	for _, s := range []string{"", "everyone", "restricted(x)", "all(1)", "topic(a"} {
		if _, err := ParseScope(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestSandboxPaths(t *testing.T) {
	s := SandboxPolicy{AllowedPaths: []string{"/work"}, DeniedPaths: []string{"/work/.git"}}
	for p, want := range map[string]bool{"/work": true, "/work/a/b": true, "/workshop": false, "/work/.git/config": false, "/work/../etc/passwd": false, "/": false} {
		if got := s.PathAllowed(p); got != want {
			t.Errorf("%s: %v", p, got)
		}
	}
}

// TestManyProcessesNoLeak spawns and stops 10,000 processes and checks
// that goroutines and the process table return to where they started.
func TestManyProcessesNoLeak(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	k := newKernel(t, Config{MaxProcesses: 20000, ExitHistory: 16})
	ctx := context.Background()
	before := runtime.NumGoroutine()
	procs := make([]*Process, 0, n)
	for range n {
		p, err := k.spawn(ctx, SpawnSpec{Name: "w", Kind: MailboxKind, InheritCaps: true})
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := k.Stop(p.pid); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		<-p.Done()
	}
	if c := k.Count(); c != 1 {
		t.Fatalf("%d processes left", c)
	}
	if len(k.PS(true)) != 1+16 {
		t.Fatalf("exit history not bounded: %d", len(k.PS(true)))
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("goroutines: %d before, %d after", before, g)
	}
}

// TestCapabilityNames: every combination of the boolean capabilities
// names them in the fixed order (nil for none), and the shared answer
// cannot be changed through append.
func TestCapabilityNames(t *testing.T) {
	for i := range 1 << 5 {
		c := Capabilities{CanSpawn: i&1 != 0, CanIPC: i&2 != 0, CanExecTools: i&4 != 0, CanNetwork: i&8 != 0, Sandbox: SandboxPolicy{Shell: i&16 != 0}}
		var want []string
		for _, n := range []struct {
			on   bool
			name string
		}{{c.CanSpawn, "can_spawn"}, {c.CanIPC, "can_ipc"}, {c.CanExecTools, "can_exec_tools"}, {c.CanNetwork, "can_network"}, {c.Sandbox.Shell, "shell"}} {
			if n.on {
				want = append(want, n.name)
			}
		}
		got := c.Names()
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("%+v: Names() = %q, want %q", c, got, want)
		}
		_ = append(got, "gov.amend")
		if again := c.Names(); !slices.Equal(again, want) || cap(again) != len(again) {
			t.Fatalf("%+v: after an append to the answer, Names() = %q (cap %d)", c, again, cap(again))
		}
	}
}
