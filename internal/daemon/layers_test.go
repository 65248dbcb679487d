package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apphost"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/localhttp/localhttptest"
)

// TestLayerRoutes: each optional layer serves exactly the endpoints
// layerPatterns lists for it, so a binary built without the layer answers
// every one of them; and in such a binary each answers layer_not_built
// (501) naming the layer and its tag. CI runs it with every layer
// compiled out (make tags).
func TestLayerRoutes(t *testing.T) {
	home := t.TempDir()
	d := open(t, home)
	defer closeD(t, d)
	routes := map[string]func() []localapi.Route{
		layers.UI:       d.uiRoutes,
		layers.Channels: d.gatewayRoutes,
		layers.Mesh:     d.clusterRoutes,
		layers.Sandbox:  d.toolRoutes,
		layers.Memory:   d.memoryRoutes,
		layers.LLM: func() []localapi.Route {
			return slices.Concat(d.agentRoutes(), d.planRoutes(), d.mcpRoutes())
		},
	}
	for _, l := range layers.All() {
		fn, ok := routes[l.Name]
		if !ok {
			continue
		}
		var got []string
		for _, r := range fn() {
			got = append(got, r.Pattern)
		}
		want := slices.Clone(layerPatterns[l.Name])
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s serves %v, layerPatterns lists %v", l.Name, got, want)
		}
		if l.Built {
			continue
		}
		tag := layers.OffBy(l.Name) // nollm also compiles out the channels and MCP
		wild := regexp.MustCompile(`\{[^}]*\}`)
		base := localhttptest.NewServer(t, d.apiHandler.Authenticated())
		for _, p := range want {
			method, path, _ := strings.Cut(p, " ")
			req, _ := http.NewRequest(method, base+wild.ReplaceAllString(path, "x"), strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			rec := struct{ Code int }{resp.StatusCode}
			var body struct{ Error apitype.Error }
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("%s: %v: %s", p, err, b)
			}
			if rec.Code != http.StatusNotImplemented || body.Error.Code != apitype.CodeLayerNotBuilt ||
				!strings.Contains(body.Error.Message, `layer "`+l.Name+`" is not built into this binary (built with -tags `+tag+`)`) {
				t.Errorf("%s without %s: %d %+v", p, l.Name, rec.Code, body.Error)
			}
		}
	}
}

// TestLayerConfiguredWithout: a home whose configuration (or state) asks
// for a layer the binary lacks is refused at boot, naming the layer —
// never booted as if the setting were not there. With the layer built the
// same home boots.
func TestLayerConfiguredWithout(t *testing.T) {
	for _, tc := range []struct {
		layer  string
		config string
		file   string // a state file that means the layer is in use
		body   string // its content ("{}" when empty)
	}{
		{layer: layers.UI, config: "[ui]\nlisten = \"127.0.0.1:0\"\n"},
		{layer: layers.Channels, config: "[gateway]\nlisten = \"127.0.0.1:0\"\n"},
		{layer: layers.Channels, config: "[[channels]]\nname = \"tg\"\nkind = \"telegram\"\ntoken_env = \"WEFT_TEST_NO_TOKEN\"\n"},
		{layer: layers.Mesh, file: homedir.Cluster},
		{layer: layers.Sandbox, file: homedir.Tools + "/echo/install.json"},
		{layer: layers.LLM, config: "[[providers]]\nname = \"local\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"WEFT_TEST_NO_KEY\"\n"},
		{layer: layers.LLM, config: "[agents]\nmodel = \"openai/gpt-4o-mini\"\n"},
		{layer: layers.LLM, file: apphost.Dir + "/notes/app.json", body: `{"name":"notes","running":true,"services":[{"agent":"scribe"}]}`},
	} {
		if layers.Built(tc.layer) && tc.file != "" {
			continue // a real cluster state is the cluster tests' business
		}
		home := t.TempDir()
		if tc.config != "" {
			if err := os.WriteFile(filepath.Join(home, "weftos.toml"), []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if tc.file != "" {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(home, tc.file)), 0o700); err != nil {
				t.Fatal(err)
			}
			body := tc.body
			if body == "" {
				body = "{}"
			}
			if err := os.WriteFile(filepath.Join(home, tc.file), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		d, err := Open(context.Background(), Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if layers.Built(tc.layer) {
			if err != nil {
				t.Errorf("%s built in, %q: %v", tc.layer, tc.config, err)
				continue
			}
			closeD(t, d)
			continue
		}
		if err == nil {
			closeD(t, d)
			t.Errorf("without %s, %q%s booted", tc.layer, tc.config, tc.file)
			continue
		}
		if !errors.Is(err, layers.ErrNotBuilt) || !strings.Contains(err.Error(), `layer "`+tc.layer+`"`) {
			t.Errorf("without %s: %v", tc.layer, err)
		}
	}
}

// TestLayerAppWithAgents: without the LLM layer an app whose package has
// agents is refused at install, as layer_not_built, and the refusal is on
// the chain. (With agents built, installing apps is TestAppLifecycle's.)
func TestLayerAppWithAgents(t *testing.T) {
	if layers.Built(layers.LLM) {
		t.Skip("the LLM layer is built")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"weftapp.toml":       "name = \"notes\"\nversion = \"0.1.0\"\nagents = [\"agents/scribe.yaml\"]\n\n[requests]\ncapabilities = [\"can_ipc\"]\n",
		"agents/scribe.yaml": "name: scribe\nsystem_prompt: Keep notes.\ncapabilities:\n  can_ipc: true\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d := open(t, t.TempDir())
	defer closeD(t, d)
	_, err := d.apps.Install(context.Background(), dir, false)
	if !errors.Is(err, layers.ErrNotBuilt) || !strings.Contains(err.Error(), `layer "llm"`) {
		t.Fatalf("install: %v", err)
	}
	if code, _, _ := d.errorCode(err); code != apitype.CodeLayerNotBuilt {
		t.Errorf("code %q", code)
	}
	refused := false
	for seq := range d.chain.Len() {
		ev, _ := d.chain.Get(seq)
		refused = refused || ev.Kind == governance.KindRefusal && strings.Contains(string(ev.Payload), `"action":"app.install"`)
	}
	if !refused {
		t.Error("no refusal of app.install on the chain")
	}
}
