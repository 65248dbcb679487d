package toolhost

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/weftos/weftos/internal/sandbox"
	"github.com/weftos/weftos/internal/toolpkg"
)

func baseTool() InstalledTool {
	return InstalledTool{Name: "fetch", Version: "1.0.0", SHA256: "ab", Limits: toolpkg.Limits{MemoryMiB: 16, Fuel: 1000, TimeoutMS: 500},
		Hosts: []string{"example.com:443"}, Mounts: []sandbox.Mount{{HostPath: "/data", GuestPath: "/in", ReadOnly: true}},
		InputSchema: json.RawMessage(`{ "type": "object" }`), Imports: []string{"weftos.log"}}
}

// TestGrantsHashBindsEveryGrant: whatever an edit of install.json widens —
// a mount, a host, the environment, a limit, the module — changes the
// hash the chain's tool.install record holds; a JSON round trip does not.
func TestGrantsHashBindsEveryGrant(t *testing.T) {
	want := grantsHash(baseTool())
	b, _ := json.Marshal(baseTool())
	var back InstalledTool
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := grantsHash(back); got != want {
		t.Fatalf("a JSON round trip changed the hash: %s != %s", got, want)
	}
	edits := map[string]func(*InstalledTool){
		"mount made writable": func(it *InstalledTool) { it.Mounts[0].ReadOnly = false },
		"mount widened to /":  func(it *InstalledTool) { it.Mounts[0].HostPath = "/" },
		"host added":          func(it *InstalledTool) { it.Hosts = append(it.Hosts, "evil.example:443") },
		"env added":           func(it *InstalledTool) { it.Env = []string{"HOME"} },
		"more fuel":           func(it *InstalledTool) { it.Limits.Fuel++ },
		"more memory":         func(it *InstalledTool) { it.Limits.MemoryMiB++ },
		"longer timeout":      func(it *InstalledTool) { it.Limits.TimeoutMS++ },
		"another module":      func(it *InstalledTool) { it.SHA256 = "cd" },
		"another schema":      func(it *InstalledTool) { it.InputSchema = json.RawMessage(`{"type":"string"}`) },
		"another import":      func(it *InstalledTool) { it.Imports = append(it.Imports, "weftos.http_fetch") },
		"renamed":             func(it *InstalledTool) { it.Name = "fetch2" },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			it := baseTool()
			edit(&it)
			if grantsHash(it) == want {
				t.Errorf("the hash did not change")
			}
		})
	}
}

func TestGrants(t *testing.T) {
	got := grants(baseTool())
	want := []string{"host:example.com:443", "mount:/data→/in:ro"}
	if !slices.Equal(got, want) {
		t.Errorf("grants = %q, want %q", got, want)
	}
	if m := grantsOf(baseTool(), "mount:"); !slices.Equal(m, []string{"/data→/in:ro"}) {
		t.Errorf("grantsOf mount = %q", m)
	}
}

func TestHostNames(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{nil, []string{}},
		{[]string{"example.com"}, []string{"example.com"}},
		{[]string{"example.com:443", "api.example.org:8080"}, []string{"example.com", "api.example.org"}},
	} {
		if got := hostNames(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("hostNames(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
