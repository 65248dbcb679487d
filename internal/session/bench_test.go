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

// BenchmarkConversation compares what a turn of a session with 1,000
// earlier exchanges (2,000 messages, a tool call in every other one) pays
// to get the conversation: Resume (the whole state, copied) against
// Conversation for a caller that keeps its copy (one new exchange).
func BenchmarkConversation(b *testing.B) {
	s, err := Open(b.TempDir(), "bench", WithClock(fakeClock()))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 500 {
		call := ToolCall{ID: "c" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260)), Name: "read_file", Arguments: []byte(`{"path":"a.go"}`)}
		for _, st := range []Step{UserMessage("read it"), ModelResponse("m", Message{ToolCalls: []ToolCall{call}}, Usage{}),
			ToolCallStarted(call), ToolCallCompleted(ToolResult{ID: call.ID, Name: call.Name, Content: "package a"}),
			ModelResponse("m", Message{Content: "It is package a."}, Usage{}), FinalAnswer("It is package a.")} {
			if _, err := s.AppendBuffered(ctx, st); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("resume", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Resume()
		}
	})
	b.Run("conversation", func(b *testing.B) {
		msgs, _, epoch, _ := s.Conversation(0, 0)
		have := len(msgs)
		b.ReportAllocs()
		for b.Loop() {
			_, _, _, _ = s.Conversation(epoch, have-2) // the last exchange is new
		}
	})
}
