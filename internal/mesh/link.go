package mesh

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flynn/noise"
)

// Link is an established, encrypted link to one authenticated peer. Send
// may be called from several goroutines (messages are not interleaved);
// Recv from one at a time. A Send or Recv that fails or is interrupted by
// its context closes the link: a half-written or half-read message leaves
// nothing to resume.
type Link struct {
	conn      net.Conn
	br        *bufio.Reader
	peer      Peer
	max       int
	rekeyN    uint64
	rekeyT    time.Duration
	now       func() time.Time
	wmu       sync.Mutex
	send      *noise.CipherState
	wbuf      []byte
	sentRecs  uint64    // records under the current sending key
	keyedAt   time.Time // when the current sending key started
	rmu       sync.Mutex
	recv      *noise.CipherState
	rbuf      []byte
	closed    atomic.Bool
	closeOnce sync.Once
	stats     LinkStats
}

// LinkStats counts what crossed a link.
type LinkStats struct {
	MessagesSent, MessagesReceived atomic.Uint64
	BytesSent, BytesReceived       atomic.Uint64 // message bytes, before framing
	RekeysSent, RekeysReceived     atomic.Uint64
}

func newLink(conn net.Conn, br *bufio.Reader, p Peer, cfg Config, send, recv *noise.CipherState) *Link {
	return &Link{conn: conn, br: br, peer: p, max: cfg.MaxMessage, rekeyN: cfg.RekeyRecords, rekeyT: cfg.RekeyInterval,
		now: cfg.Now, send: send, recv: recv, keyedAt: cfg.Now(),
		wbuf: make([]byte, 0, 2+maxFrameBody), rbuf: make([]byte, maxFrameBody)}
}

// Peer returns the authenticated peer.
func (l *Link) Peer() Peer { return l.peer }

// Stats returns the link's counters.
func (l *Link) Stats() *LinkStats { return &l.stats }

// LocalAddr and RemoteAddr are the transport's addresses.
func (l *Link) LocalAddr() net.Addr  { return l.conn.LocalAddr() }
func (l *Link) RemoteAddr() net.Addr { return l.conn.RemoteAddr() }

// Send sends one message of any length up to the link's bound, as one or
// more records.
func (l *Link) Send(ctx context.Context, msg []byte) error {
	if len(msg) > l.max {
		return fmt.Errorf("%w: %d bytes, the link's bound is %d", ErrMessageTooLarge, len(msg), l.max)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	stop := watchDeadline(ctx, l.conn.SetWriteDeadline, 0)
	err := l.sendLocked(msg)
	stop()
	if err != nil {
		l.shut()
		return ctxErr(ctx, fmt.Errorf("%w: send: %w", ErrClosed, err))
	}
	l.stats.MessagesSent.Add(1)
	l.stats.BytesSent.Add(uint64(len(msg)))
	return nil
}

func (l *Link) sendLocked(msg []byte) error {
	for first := true; first || len(msg) > 0; first = false {
		if l.sentRecs >= l.rekeyN || l.now().Sub(l.keyedAt) >= l.rekeyT {
			if err := l.writeRecord(recRekey, nil); err != nil {
				return err
			}
			l.send.Rekey()
			l.sentRecs, l.keyedAt = 0, l.now()
			l.stats.RekeysSent.Add(1)
		}
		n := min(len(msg), maxRecordData)
		typ := recMore
		if n == len(msg) {
			typ = recEnd
		}
		if err := l.writeRecord(typ, msg[:n]); err != nil {
			return err
		}
		msg = msg[n:]
	}
	return nil
}

// writeRecord encrypts and writes one record: u16be length ‖ ciphertext.
func (l *Link) writeRecord(typ byte, data []byte) error {
	n := 1 + len(data) + tagSize
	b := l.wbuf[:2+1+len(data)]
	binary.BigEndian.PutUint16(b, uint16(n))
	b[2] = typ
	copy(b[3:], data)
	// Encrypt in place: the ciphertext overwrites the plaintext.
	out, err := l.send.Encrypt(b[:2], nil, b[2:])
	if err != nil {
		return err
	}
	l.sentRecs++
	_, err = l.conn.Write(out)
	return err
}

// Recv returns the next message.
func (l *Link) Recv(ctx context.Context) ([]byte, error) {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if l.closed.Load() {
		return nil, ErrClosed
	}
	stop := watchDeadline(ctx, l.conn.SetReadDeadline, 0)
	msg, err := l.recvLocked()
	stop()
	if err != nil {
		l.shut()
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return nil, ctxErr(ctx, fmt.Errorf("%w: recv: %w", ErrClosed, err))
	}
	l.stats.MessagesReceived.Add(1)
	l.stats.BytesReceived.Add(uint64(len(msg)))
	return msg, nil
}

func (l *Link) recvLocked() ([]byte, error) {
	var msg []byte
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(l.br, hdr[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if n < 1+tagSize {
			return nil, fmt.Errorf("%w: record of %d bytes", ErrFrame, n)
		}
		ct := l.rbuf[:n]
		if _, err := io.ReadFull(l.br, ct); err != nil {
			return nil, err
		}
		plain, err := l.recv.Decrypt(ct[:0], nil, ct)
		if err != nil {
			return nil, fmt.Errorf("%w: record does not authenticate: %w", ErrFrame, err)
		}
		typ, data, err := parseRecord(plain)
		if err != nil {
			return nil, err
		}
		switch typ {
		case recRekey:
			l.recv.Rekey()
			l.stats.RekeysReceived.Add(1)
			continue
		case recClose:
			return nil, fmt.Errorf("%w by the peer", ErrClosed)
		}
		if len(msg)+len(data) > l.max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, l.max)
		}
		if typ == recEnd && msg == nil {
			return append([]byte{}, data...), nil
		}
		msg = append(msg, data...)
		if typ == recEnd {
			return msg, nil
		}
	}
}

// Close closes the link, telling the peer when no Send is under way.
func (l *Link) Close() error {
	if l.wmu.TryLock() {
		if !l.closed.Load() {
			_ = l.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_ = l.writeRecord(recClose, nil)
		}
		l.wmu.Unlock()
	}
	return l.shut()
}

func (l *Link) shut() error {
	var err error
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		err = l.conn.Close()
	})
	return err
}
