package daemon

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
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
		wild := regexp.MustCompile(`\{[^}]*\}`)
		for _, p := range want {
			method, path, _ := strings.Cut(p, " ")
			req := httptest.NewRequest(method, wild.ReplaceAllString(path, "x"), strings.NewReader("{}"))
			rec := httptest.NewRecorder()
			d.apiHandler.Authenticated().ServeHTTP(rec, req)
			var body struct{ Error apitype.Error }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s: %v: %s", p, err, rec.Body)
			}
			if rec.Code != http.StatusNotImplemented || body.Error.Code != apitype.CodeLayerNotBuilt ||
				!strings.Contains(body.Error.Message, `layer "`+l.Name+`" is not built into this binary (built with -tags `+l.Tag+`)`) {
				t.Errorf("%s without %s: %d %+v", p, l.Name, rec.Code, body.Error)
			}
		}
	}
}
