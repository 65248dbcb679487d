package daemon

import (
	"bytes"
	"context"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/chainquery"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/jcs"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
)

// ChainDir is the chain's directory in the home.
const ChainDir = homedir.Chain

// openChain opens the audit chain and starts recording every kernel event.
func (d *Daemon) openChain(ctx context.Context) error {
	cc := d.cfg.Chain
	var err error
	d.chain, err = chain.Open(ctx, filepath.Join(d.home, ChainDir), chain.Options{
		ChainID: cc.ChainID, Origin: d.id.NodeID, Keys: chain.Keys{Ed25519: d.id.Ed25519, MLDSA65: d.id.MLDSA65},
		SegmentSize: int64(cc.SegmentSizeMiB) << 20, CheckpointInterval: cc.CheckpointInterval.Duration,
		CheckpointEvery: uint64(cc.CheckpointEvery), Logger: d.log.With("layer", "chain"), Observer: chainFanout{next: d.ops, kick: d.chainKick},
	})
	if errors.Is(err, chain.ErrCorrupt) && d.cfg.Governance.Environment != "prod" {
		// Never repair acknowledged history by cutting it: boot with the
		// chain closed, refuse every privileged act, and say exactly what
		// is wrong (prod refuses to boot instead).
		d.chain, d.chainProblem = nil, err
		d.log.Error("the audit chain is corrupt: the node runs without it and refuses every privileged act", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("daemon: opening the audit chain: %w", err)
	}
	for _, r := range d.chain.Repairs() {
		d.log.Warn("chain: derived files rebuilt from the segments", "repair", r)
	}
	d.recorder = chain.NewRecorder(d.chain, d.log.With("layer", "recorder"), 4096)
	return nil
}

// chainErr is the chain's failure: corrupt at boot, or failed since.
func (d *Daemon) chainErr() error {
	if d.chain == nil {
		if d.chainProblem != nil {
			return d.chainProblem
		}
		return errors.New("daemon: the audit chain is not open")
	}
	return d.chain.Err()
}

// recordRepairs puts the derived-file repairs Open made on the chain.
func (d *Daemon) recordRepairs(ctx context.Context) {
	if d.chain == nil {
		return
	}
	for _, r := range d.chain.Repairs() {
		if _, err := d.auth.Record(ctx, "chain", governance.KindChainRepair, map[string]string{"repair": r}); err != nil {
			d.log.Error("recording a chain repair", "err", err)
		}
	}
}

// needChain answers chain endpoints with the chain's failure when it is
// not open.
func (d *Daemon) needChain(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.chain == nil {
			d.fail(w, d.chainErr())
			return
		}
		h(w, r)
	}
}

// recordKernelEvents subscribes to the kernel's bus. Lifecycle events —
// spawns, state changes, exits, elevations, cron and service changes, the
// outcomes of the kernel's gated operations — are appended durably before
// the kernel goes on; high-volume observations (IPC sends, dead letters,
// health probes, cron firings) go through the recorder's queue, which
// applies backpressure instead of dropping. A failed append marks the
// authority pipeline failed: the node then refuses privileged acts.
func (d *Daemon) recordKernelEvents() {
	withPayload := d.cfg.Chain.RecordIPCPayloads
	if d.chain == nil {
		return // nothing can be recorded; the pipeline refuses every act
	}
	d.unsubscribe = d.kernel.Bus().Subscribe(func(ev kernel.Event) {
		payload := any(ev.Data)
		if ipc, ok := ev.Data.(kernel.IPCEvent); ok && ev.Payload != nil {
			rec := newIPCRecord(ipc, payloadHash(ev.Payload))
			if withPayload {
				rec.Payload = ev.Payload
			}
			payload = rec
		}
		var err error
		switch ev.Kind {
		case kernel.EventIPCSend, kernel.EventIPCDeadLetter, kernel.EventServiceHealth, kernel.EventCronFire:
			err = d.recorder.Record(context.Background(), "kernel", string(ev.Kind), payload)
		default:
			_, err = chainLedger{d.chain}.Append(context.Background(), authority.Record{Source: "kernel", Kind: string(ev.Kind), Payload: payload})
		}
		if err != nil {
			d.log.Error("recording a kernel event failed", "kind", ev.Kind, "err", err)
			if !errors.Is(err, authority.ErrBadRecord) && !errors.Is(err, chain.ErrClosed) {
				d.auth.Fail(err)
			}
		}
	})
}

// ipcRecord is the chain payload of ipc.* events: metadata and the hash of
// the payload, with the payload itself only when configured. It writes
// its own canonical form (jcs.Appender: the members of the embedded
// kernel.IPCEvent promoted, as encoding/json writes them);
// TestIPCRecordCanonical checks it against the reference.
type ipcRecord struct {
	kernel.IPCEvent
	PayloadHash ipcHash         `json:"payload_hash"`
	Payload     *kernel.Payload `json:"payload,omitempty"`
}

var _ jcs.Appender = ipcRecord{}

func newIPCRecord(e kernel.IPCEvent, hash ipcHash) ipcRecord {
	return ipcRecord{IPCEvent: e, PayloadHash: hash}
}

// ipcHash is the hex SHAKE-256/32 of an IPC payload, held in the record
// without a string of its own; the zero value is "" (a payload that does
// not encode). It is written as a JSON string.
type ipcHash struct {
	hex [64]byte
	ok  bool
}

func (h *ipcHash) bytes() []byte {
	if !h.ok {
		return nil
	}
	return h.hex[:]
}

func (h ipcHash) String() string { return string(h.bytes()) }

// MarshalText implements encoding.TextMarshaler (encoding/json's form).
func (h ipcHash) MarshalText() ([]byte, error) { return append([]byte{}, h.bytes()...), nil }

// AppendCanonical implements jcs.Appender: the members in the order of
// their names.
func (r ipcRecord) AppendCanonical(dst []byte) ([]byte, error) {
	dst = append(dst, '{')
	for _, m := range [...]struct{ key, val string }{{`"action":`, r.Action}, {`"action_id":`, r.ActionID}, {`"agent":`, r.Agent}} {
		if m.val != "" {
			dst = append(dst, m.key...)
			dst = jcs.AppendString(dst, m.val)
			dst = append(dst, ',')
		}
	}
	if r.CorrelationID != 0 {
		dst = append(dst, `"correlation_id":`...)
		dst = jcs.AppendUint(dst, r.CorrelationID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"from":`...)
	dst = jcs.AppendUint(dst, uint64(r.From))
	dst = append(dst, `,"id":`...)
	dst = jcs.AppendUint(dst, r.ID)
	if r.Payload != nil {
		dst = append(dst, `,"payload":`...)
		var err error
		if dst, err = jcs.AppendValue(dst, r.Payload, 1); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `,"payload_hash":"`...) // hex digits, as they are
	dst = append(append(dst, r.PayloadHash.bytes()...), '"')
	dst = append(dst, `,"payload_kind":`...)
	dst = jcs.AppendString(dst, r.PayloadKind)
	if r.Reason != "" {
		dst = append(dst, `,"reason":`...)
		dst = jcs.AppendString(dst, r.Reason)
	}
	dst = append(dst, `,"size":`...)
	dst = jcs.AppendInt(dst, int64(r.Size))
	dst = append(dst, `,"target":`...)
	dst = jcs.AppendString(dst, r.Target)
	if r.TraceID != "" {
		dst = append(dst, `,"trace_id":`...)
		dst = jcs.AppendString(dst, r.TraceID)
	}
	return append(dst, '}'), nil
}

// payloadHash is SHAKE-256/32 over the payload's JSON encoding (as
// encoding/json writes it), "" for a payload that does not encode.
func payloadHash(p *kernel.Payload) ipcHash {
	var h sha3.SHAKE // SHAKE-256
	if !hashJSONPayload(&h, p) {
		b, err := json.Marshal(p)
		if err != nil {
			return ipcHash{}
		}
		h.Write(b) //nolint:errcheck // never fails
	}
	var sum [32]byte
	h.Read(sum[:]) //nolint:errcheck // never fails
	out := ipcHash{ok: true}
	hex.Encode(out.hex[:], sum[:])
	return out
}

// jsonPayloadPrefix is how encoding/json starts a JSON payload.
var jsonPayloadPrefix = func() []byte {
	kind, err := kernel.PayloadJSON.MarshalJSON()
	if err != nil {
		panic(err)
	}
	return append(append([]byte(`{"kind":`), kind...), `,"json":`...)
}()

var compactBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// hashJSONPayload writes to h the bytes json.Marshal gives for the most
// common IPC payload — JSON text and nothing else — without reflection,
// and reports whether it did: encoding/json writes the text compacted
// (json.Compact, which also validates it) and with <, >, &, U+2028 and
// U+2029 escaped, so text with none of those (no 0xE2 byte) is written
// compacted only. TestPayloadHashFast compares with json.Marshal.
func hashJSONPayload(h *sha3.SHAKE, p *kernel.Payload) bool {
	if p.Kind != kernel.PayloadJSON || len(p.JSON) == 0 || p.Text != "" || p.ToolCall != nil || p.ToolResult != nil ||
		p.Signal != 0 || len(p.Binary) != 0 {
		return false
	}
	for _, c := range p.JSON {
		switch c {
		case '<', '>', '&', 0xe2:
			return false
		}
	}
	buf := compactBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			compactBufs.Put(buf)
		}
	}()
	if json.Compact(buf, p.JSON) != nil {
		return false // json.Marshal reports it
	}
	h.Write(jsonPayloadPrefix) //nolint:errcheck // never fails
	h.Write(buf.Bytes())       //nolint:errcheck // never fails
	h.Write([]byte{'}'})       //nolint:errcheck // never fails
	return true
}

// closeChain flushes the recorder and closes the chain, which writes the
// final checkpoint.
func (d *Daemon) closeChain(ctx context.Context) error {
	var errs []error
	if d.unsubscribe != nil {
		d.unsubscribe()
	}
	if d.recorder != nil {
		if err := d.recorder.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("chain recorder: %w", err))
		}
	}
	if d.chain != nil {
		if err := d.chain.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("chain: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (d *Daemon) chainRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "GET /v1/chain/status", Handler: d.needChain(d.handleChainStatus)},
		{Pattern: "GET /v1/chain/keys", Handler: d.needChain(d.handleChainKeys)},
		{Pattern: "GET /v1/chain/witnesses", Handler: d.handleChainWitnesses},
		{Pattern: "GET /v1/chain/events", Handler: d.needChain(d.handleChainEvents)},
		{Pattern: "GET /v1/chain/events/{seq}", Handler: d.needChain(d.handleChainEvent)},
		{Pattern: "GET /v1/chain/export", Handler: d.needChain(d.handleChainExport)},
		{Pattern: "GET /v1/chain/prove/{seq}", Handler: d.needChain(d.handleChainProve)},
		{Pattern: "GET /v1/chain/consistency", Handler: d.needChain(d.handleChainConsistency)},
	}
}

func queryUint(r *http.Request, name string, def uint64) (uint64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not a number", kernel.ErrInvalid, name, s)
	}
	return n, nil
}

func (d *Daemon) handleChainStatus(w http.ResponseWriter, r *http.Request) {
	st, err := chainquery.GetStatus(d.chain)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, st)
}

func (d *Daemon) handleChainKeys(w http.ResponseWriter, r *http.Request) {
	k, err := chainquery.GetKeys(d.chain)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, k)
}

// handleChainEvents lists events: the last n (?tail=n), or from a seq
// (?from=); with ?follow=1 it streams new events as JSON lines.
func (d *Daemon) handleChainEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kind := q.Get("kind")
	n, err := queryUint(r, "n", 20)
	if err != nil {
		d.fail(w, err)
		return
	}
	if q.Get("follow") != "1" {
		var evs []chain.Event
		if q.Has("from") {
			var from uint64
			if from, err = queryUint(r, "from", 0); err != nil {
				d.fail(w, err)
				return
			}
			evs, err = chainquery.Since(d.chain, from, int(n), kind)
		} else {
			evs, err = chainquery.Tail(d.chain, int(n), kind)
		}
		if err != nil {
			d.fail(w, err)
			return
		}
		localapi.WriteJSON(w, evs)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		localapi.WriteError(w, http.StatusInternalServerError, "internal", "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	// The length is read once: the tail ends there and following starts
	// there, so an event appended in between is sent exactly once.
	next := d.chain.Len()
	last, err := chainquery.TailTo(d.chain, next, int(n), kind)
	if err != nil {
		d.fail(w, err)
		return
	}
	for _, ev := range last {
		_ = enc.Encode(ev)
	}
	fl.Flush()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-d.closing:
			return
		case <-tick.C:
		}
		evs, err := chainquery.Since(d.chain, next, 0, "")
		if err != nil {
			return
		}
		for _, ev := range evs {
			next = ev.Seq + 1
			if kind == "" || ev.Kind == kind {
				if enc.Encode(ev) != nil {
					return
				}
			}
		}
		fl.Flush()
	}
}

func pathSeq(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	n, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("%q is not a sequence number", r.PathValue("seq")))
		return 0, false
	}
	return n, true
}

func (d *Daemon) handleChainEvent(w http.ResponseWriter, r *http.Request) {
	seq, ok := pathSeq(w, r)
	if !ok {
		return
	}
	ev, err := d.chain.Get(seq)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, ev)
}

func (d *Daemon) handleChainExport(w http.ResponseWriter, r *http.Request) {
	from, err := queryUint(r, "from", 0)
	if err != nil {
		d.fail(w, err)
		return
	}
	if from > d.chain.Len() {
		d.fail(w, fmt.Errorf("%w: from %d is past the chain's length %d", chain.ErrNotFound, from, d.chain.Len()))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Trailer", apitype.TrailerErrorCode+", "+apitype.TrailerErrorMessage)
	if err := d.chain.Export(r.Context(), w, from); err != nil {
		d.log.Warn("chain export interrupted", "err", err)
		code, _, ok := d.errorCode(err)
		if !ok {
			code = "internal"
		}
		w.Header().Set(apitype.TrailerErrorCode, code)
		w.Header().Set(apitype.TrailerErrorMessage, err.Error())
	}
}

func (d *Daemon) handleChainProve(w http.ResponseWriter, r *http.Request) {
	seq, ok := pathSeq(w, r)
	if !ok {
		return
	}
	if seq < d.chain.Len() {
		// A fresh event is covered within the checkpoint interval: wait
		// for it rather than fail.
		ctx, cancel := context.WithTimeout(r.Context(), d.cfg.Chain.CheckpointInterval.Duration+2*time.Second)
		_, err := d.chain.WaitCovered(ctx, seq)
		cancel()
		if err != nil {
			d.fail(w, err)
			return
		}
	}
	p, err := chainquery.Prove(d.chain, seq)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, p)
}

func (d *Daemon) handleChainConsistency(w http.ResponseWriter, r *http.Request) {
	oldSize, err := queryUint(r, "old", 0)
	if err == nil {
		var newSize uint64
		if newSize, err = queryUint(r, "new", d.chain.Len()); err == nil {
			var c chainquery.Consistency
			if c, err = chainquery.Consistent(d.chain, oldSize, newSize); err == nil {
				localapi.WriteJSON(w, c)
				return
			}
		}
	}
	d.fail(w, err)
}
