package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// wasiCommands are the weave commands that run on WASI preview 1 (as the
// README lists them): everything that reads a home offline. The daemon
// itself does not run there: WASI preview 1 cannot accept connections.
var wasiCommands = [][]string{
	{"version"},
	{"chain", "verify"},
	{"chain", "status"},
	{"chain", "tail", "-n", "3"},
	{"chain", "show", "0"},
	{"chain", "keys"},
	{"chain", "prove", "0"},
	{"chain", "consistency", "1", "2"},
	{"chain", "export", "-o", "/home/again.jsonl"},
	{"chain", "verify", "--export", "/home/export.jsonl"},
	{"gov", "audit"},
}

// TestWASIP1: weave built for wasip1 and run under wazero verifies, reads
// and audits a chain a native daemon wrote — a third party's verifier in a
// sandbox — and refuses to boot with a clear message.
func TestWASIP1(t *testing.T) {
	native := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	native.ok("boot", "--detach")
	native.ok("ipc", "publish", "news", "hello")
	native.ok("shutdown")
	native.ok("chain", "export", "-o", filepath.Join(native.home, "export.jsonl"))

	dir := t.TempDir()
	wasm := filepath.Join(dir, "weave.wasm")
	build := exec.Command("go", "build", "-o", wasm, ".")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building weave for wasip1: %v\n%s", err, out)
	}
	runner := filepath.Join(dir, "wasirun")
	if out, err := exec.Command("go", "build", "-o", runner, "./testdata/wasirun").CombinedOutput(); err != nil {
		t.Fatalf("building the runner: %v\n%s", err, out)
	}
	var script strings.Builder
	for _, args := range wasiCommands {
		script.WriteString("weave\t" + strings.Join(args, "\t") + "\t--home\t/home\n")
	}
	script.WriteString("weave\tboot\t--home\t/home\n")
	scriptFile := filepath.Join(dir, "script")
	if err := os.WriteFile(scriptFile, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(runner, "-module", wasm, "-mount", native.home+":/home", "-cache", filepath.Join(dir, "cache"), "-script", scriptFile).CombinedOutput()
	if err != nil {
		t.Fatalf("wasirun: %v\n%s", err, out)
	}
	results := map[string]string{} // command → its output and exit line
	for _, block := range strings.Split(string(out), "=== weave ")[1:] {
		cmd, rest, _ := strings.Cut(block, "\n")
		results[strings.TrimSuffix(cmd, " --home /home")] = rest
	}
	exit := regexp.MustCompile(`=== exit (\d+)\n?$`)
	for _, args := range wasiCommands {
		cmd := strings.Join(args, " ")
		res, ok := results[cmd]
		if m := exit.FindStringSubmatch(res); !ok || m == nil || m[1] != "0" {
			t.Errorf("weave %s on wasip1:\n%s", cmd, res)
		}
	}
	for cmd, want := range map[string]string{
		"chain verify": "Ed25519 and ML-DSA-65 signatures",
		"chain verify --export /home/export.jsonl": "verified",
		"chain prove 0": "checkpoint signatures (Ed25519, ML-DSA-65) verified",
		"gov audit":     "findings: none",
	} {
		if !strings.Contains(results[cmd], want) {
			t.Errorf("weave %s on wasip1 lacks %q:\n%s", cmd, want, results[cmd])
		}
	}
	again, err := os.ReadFile(filepath.Join(native.home, "again.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(native.home, "export.jsonl"))
	if string(again) != string(first) {
		t.Error("the wasip1 export differs from the native one")
	}
	if boot := results["boot"]; !strings.Contains(boot, "the weave daemon does not run here") || !strings.Contains(boot, "=== exit 1") {
		t.Errorf("boot on wasip1:\n%s", boot)
	}
}
