package daemon

import (
	"errors"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/authority"
)

// refuse records a refusal of act for err (an operator request that could
// not be described) and answers it.
func (d *Daemon) refuse(w http.ResponseWriter, r *http.Request, act authority.Act, err error) {
	if rerr := d.auth.Refuse(r.Context(), act, err); errors.Is(rerr, authority.ErrLedger) {
		err = rerr
	}
	d.fail(w, err)
}
