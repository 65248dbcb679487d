package daemon

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/chainquery"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/memory"
	"github.com/weftos/weftos/internal/session"
)

var snake = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// TestJSONIsSnakeCase: every type the local API answers with names its
// fields in snake_case — no field reaches the wire under its Go name.
func TestJSONIsSnakeCase(t *testing.T) {
	for _, v := range []any{
		apitype.Status{}, apitype.SpawnResponse{}, apitype.SendResponse{}, apitype.ConfigResponse{}, apitype.RunEvent{},
		kernel.Info{}, kernel.Capabilities{}, kernel.ServiceInfo{}, kernel.CronJob{}, kernel.Status{}, kernel.KernelReply{},
		memory.Hit{}, memory.Stats{}, memory.IngestResult{}, memory.IngestProgress{}, MemoryIngestEvent{},
		InstalledTool{}, ToolRunResult{}, RulesResponse{}, AmendResponse{}, governance.Report{}, governance.PendingItem{},
		governance.Decision{}, session.Summary{}, session.Snapshot{}, chain.Event{}, chain.Report{}, chainquery.Status{},
	} {
		checkSnake(t, reflect.TypeOf(v), reflect.TypeOf(v).Name(), map[reflect.Type]bool{})
	}
}

func checkSnake(t *testing.T, ty reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Array || ty.Kind() == reflect.Map {
		ty = ty.Elem()
	}
	if ty.Kind() != reflect.Struct || seen[ty] || ty.PkgPath() == "time" {
		return
	}
	seen[ty] = true
	if _, custom := reflect.New(ty).Interface().(interface{ MarshalJSON() ([]byte, error) }); custom {
		return
	}
	if _, custom := reflect.New(ty).Interface().(interface{ MarshalText() ([]byte, error) }); custom {
		return
	}
	for i := range ty.NumField() {
		f := ty.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			checkSnake(t, f.Type, path, seen)
			continue
		case name == "" || !snake.MatchString(name):
			t.Errorf("%s.%s is on the wire as %q", path, f.Name, orGoName(name, f.Name))
		}
		checkSnake(t, f.Type, path+"."+f.Name, seen)
	}
}

func orGoName(tag, name string) string {
	if tag == "" {
		return name
	}
	return tag
}
