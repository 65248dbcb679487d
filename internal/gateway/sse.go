package gateway

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/llm"
)

// sse writes a Server-Sent Events stream. Writes are serialised (the
// keep-alive pinger writes too) and flushed at once.
type sse struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	fl      http.Flusher
	started bool
	closed  bool
}

func newSSE(w http.ResponseWriter) *sse {
	fl, _ := w.(http.Flusher)
	return &sse{w: w, fl: fl}
}

func (s *sse) write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStreamClosed
	}
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		s.started = true
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	if s.fl != nil {
		s.fl.Flush()
	}
	return nil
}

// hasStarted reports whether anything was written (the status is sent).
func (s *sse) hasStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// data writes v as one event's JSON data.
func (s *sse) data(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	return s.write(buf)
}

func (s *sse) ping() error { return s.write([]byte(": ping\n\n")) }

func (s *sse) done() error { return s.write([]byte("data: [DONE]\n\n")) }

// close refuses later writes (the handler is returning).
func (s *sse) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// keepAlive pings sw every interval until the returned stop is called;
// stop (idempotent) waits for the pinger to be gone.
func keepAlive(sw *sse, interval time.Duration) (stop func()) {
	done, gone := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(gone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if sw.ping() != nil {
					return
				}
			}
		}
	}()
	return func() {
		once.Do(func() { close(done) })
		<-gone
	}
}

// chunk is a chat.completion.chunk.
type chunk struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	SystemFingerprint *string  `json:"system_fingerprint"`
	Choices           []choice `json:"choices"`
	Usage             *usage   `json:"usage,omitempty"`
}

// chunker builds the chunks of one streamed completion.
type chunker struct {
	id      string
	created int64
	model   string
	usage   bool
}

func (c chunker) base(ch ...choice) chunk {
	if ch == nil {
		ch = []choice{}
	}
	return chunk{ID: c.id, Object: "chat.completion.chunk", Created: c.created, Model: c.model, Choices: ch}
}

func (c chunker) role() chunk {
	empty := ""
	return c.base(choice{Delta: &choiceMessage{Role: "assistant", Content: &empty}})
}

func (c chunker) content(text string) chunk {
	return c.base(choice{Delta: &choiceMessage{Content: &text}})
}

func (c chunker) finish(reason string) chunk {
	return c.base(choice{Delta: &choiceMessage{}, FinishReason: &reason})
}

func (c chunker) usageChunk(u llm.Usage) chunk {
	ch := c.base()
	uu := toUsage(u)
	ch.Usage = &uu
	return ch
}

// stream serves a streamed completion: the role first, the answer's text
// as the model writes it (the text of successive model calls of one run
// separated by a blank line), the finish reason, the usage when asked
// for, and [DONE]; ": ping" comments keep idle connections open. An error
// before anything was sent is an HTTP error; after, an error event.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, req chatRequest, m channels.Message) {
	sw := newSSE(w)
	defer sw.close()
	c := chunker{id: "chatcmpl-" + randomHex(12), created: s.opts.Clock.Now().Unix(), model: req.Model,
		usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage}
	stop := keepAlive(sw, s.opts.KeepAlive)
	defer stop()
	turn, wrote := 0, false
	rep, err := s.opts.Hub.Exchange(r.Context(), m, func(ev apitype.RunEvent) error {
		switch ev.Type {
		case apitype.RunStart:
			return sw.data(c.role())
		case apitype.RunDelta:
			text := ev.Text
			if ev.Turn != turn {
				if wrote {
					text = "\n\n" + text
				}
				turn = ev.Turn
			}
			if text == "" {
				return nil
			}
			wrote = true
			return sw.data(c.content(text))
		}
		return nil
	})
	stop()
	if err != nil {
		if !sw.hasStarted() {
			s.writeRunError(w, err)
			return
		}
		status, typ, code := s.classify(err)
		_ = status
		_ = sw.data(errBody(typ, "", code, err.Error()))
		return
	}
	if !wrote && rep.Answer != "" {
		_ = sw.data(c.content(rep.Answer))
	}
	_ = sw.data(c.finish("stop"))
	if c.usage {
		_ = sw.data(c.usageChunk(rep.Usage))
	}
	_ = sw.done()
}
