package daemon

import (
	"reflect"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
)

// TestOpsJSONIsSnakeCase: the operator endpoints' types (logs, doctor)
// are snake_case on the wire too.
func TestOpsJSONIsSnakeCase(t *testing.T) {
	for _, v := range []any{apitype.LogsResponse{}, apitype.LogLine{}, apitype.DoctorReport{}, apitype.DoctorCheck{}} {
		checkSnake(t, reflect.TypeOf(v), reflect.TypeOf(v).Name(), map[reflect.Type]bool{})
	}
}
