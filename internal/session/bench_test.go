package session

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// BenchmarkAppend measures one durable step: encode, write, fsync.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.TempDir(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	msg := strings.Repeat("x", 200)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, UserMessage(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScan measures reading and replaying a journal of 10,000 steps
// of about 300 bytes each (Open does this once).
func BenchmarkScan(b *testing.B) {
	var buf bytes.Buffer
	for seq := uint64(1); seq <= 10000; seq++ {
		st := cycleStep(seq, 200)
		st.Seq = seq
		st.Data = bytes.Clone(st.Data)
		line, _, err := encodeRecord(st, CurrentFormat)
		if err != nil {
			b.Fatal(err)
		}
		buf.Write(line)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := scan(bytes.NewReader(data), "bench", CurrentFormat, true)
		if err != nil || len(res.steps) != 10000 {
			b.Fatalf("%v %d", err, len(res.steps))
		}
	}
}

// BenchmarkAppendBuffered measures the CPU of one step without the fsync:
// validate, encode, checksum, write.
func BenchmarkAppendBuffered(b *testing.B) {
	s, err := Open(b.TempDir(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	msg := strings.Repeat("x", 200)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendBuffered(ctx, ModelResponse("", Message{Content: msg}, Usage{InputTokens: 10, OutputTokens: 2})); err != nil {
			b.Fatal(err)
		}
	}
}
