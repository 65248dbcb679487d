package chain

import "time"

// Observer watches a Log's writes, for metrics. Its methods are called on
// the log's single committer goroutine, on the append path: they must
// return quickly, must not block and must not call the Log.
type Observer interface {
	// Committed reports a group commit that made events and checkpoints
	// durable (one write per segment touched, acknowledged after an
	// fdatasync covering it; one fdatasync may cover several commits).
	Committed(events, checkpoints int)
	// Synced reports one fdatasync of a segment file and how long it
	// took (several may run at once; reported in the order started).
	Synced(d time.Duration)
}
