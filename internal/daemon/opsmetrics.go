package daemon

import (
	"github.com/weftos/weftos/internal/metrics"
	"github.com/weftos/weftos/internal/nodemetrics"
)

// registerOpsMetrics exposes the node's instruments (model and tool
// calls, chain commits, memory searches), the gate's decisions, the
// chain's length and the log file's write failures (docs/OPERATIONS.md).
func (d *Daemon) registerOpsMetrics(must func(error)) {
	r := d.metrics
	must(d.ops.Register(r))
	must(nodemetrics.RegisterGate(r, d.auth.Stats()))
	must(r.Value("weftos_chain_length", "Events on the audit chain (0 while it is not open).", metrics.Gauge, func() float64 {
		if d.chain == nil {
			return 0
		}
		return float64(d.chain.Len())
	}))
	must(r.Value("weftos_log_write_errors_total", "Writes to weave.log (or its rotations) that failed; the lines still reached followers and stderr.", metrics.Counter, func() float64 {
		n, _ := d.logFile.Errors()
		return float64(n)
	}))
}
