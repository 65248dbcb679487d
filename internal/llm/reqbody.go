package llm

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// encodedBody is the encoded body of one call, shared by its attempts and
// by every request body the transport opens over it (http.Request.Body
// and GetBody's). A pooled one (an OpenAI request, written by encode) goes
// back to requestBufs once the call is over and the transport has closed
// every body over it: net/http may still be writing a body after
// RoundTrip has returned, and closes it when it is done. A body the
// transport never closes only keeps its buffer out of the pool.
type encodedBody struct {
	b      []byte
	pooled bool
	refs   atomic.Int32 // the call's reference and one per open body
}

// maxPooledBody bounds the buffers kept for reuse: a rare huge request
// does not pin its memory.
const maxPooledBody = 1 << 20

var requestBufs = sync.Pool{New: func() any { return new(encodedBody) }}

// newEncodedBody returns a pooled body holding the call's reference, with
// an empty buffer to append the encoding to.
func newEncodedBody() *encodedBody {
	eb := requestBufs.Get().(*encodedBody)
	eb.b, eb.pooled = eb.b[:0], true
	eb.refs.Store(1)
	return eb
}

// fixedBody is a body over b that is not pooled (nil b: no body).
func fixedBody(b []byte) *encodedBody {
	if b == nil {
		return nil
	}
	eb := &encodedBody{b: b}
	eb.refs.Store(1)
	return eb
}

// release drops a reference; the last one returns a pooled buffer.
func (eb *encodedBody) release() {
	if eb == nil || eb.refs.Add(-1) != 0 || !eb.pooled {
		return
	}
	if cap(eb.b) > maxPooledBody {
		eb.b = nil
	}
	requestBufs.Put(eb)
}

// requestBody is a request body over an encoded body. Bytes is what is
// left to read: the direct transport (through minihttp) writes it without
// copying it first, and closes the body once it has.
type requestBody struct {
	bytes.Reader
	eb     *encodedBody
	closed atomic.Bool
}

// open returns a new request body over eb, which it keeps referenced
// until its Close.
func (eb *encodedBody) open() *requestBody {
	eb.refs.Add(1)
	rb := &requestBody{eb: eb}
	rb.Reset(eb.b)
	return rb
}

// Bytes is the unread part of the body.
func (r *requestBody) Bytes() []byte { return r.eb.b[len(r.eb.b)-r.Len():] }

// Close lets go of the encoded body; the body must not be read after it.
func (r *requestBody) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.eb.release()
	}
	return nil
}
