package xreflink

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// turnEvents are the six chain events of one agent turn as the daemon
// writes them (BenchmarkConcurrentAgents): the request's ipc.send, a
// memory.search decision and outcome, an llm.call decision and outcome,
// and the reply's ipc.send. seq is the first event's seq.
func turnEvents(seq uint64, agent, turn int) []chain.Event {
	pid := uint64(agent + 1)
	sess := fmt.Sprintf("c1000-0-%d", agent)
	name := "default@" + sess
	decision := func(act, extra string) json.RawMessage {
		return json.RawMessage(`{"action_id":"` + act + `","decision":{"constitution_hash":"338cc95948ee066616b01b9996b4f13c71e5eb8ed6d6312085bea29612b1cea9",` +
			`"constitution_revision":0,"effect":{"fairness":0,"novelty":0,"privacy":0.2,"risk":0,"security":0},"env":"dev","magnitude":0.08944271909999159,` +
			`"outcome":"permit","reason":"no rule matched and the effect magnitude is within the environment threshold","threshold":0.9},` +
			`"request":{"action":"memory.search","agent":"` + name + `","capabilities":["can_ipc","can_exec_tools","can_network"],"context":{"extra":{` + extra + `}},` +
			`"effect":{"fairness":0,"novelty":0,"privacy":0.2,"risk":0,"security":0},"pid":` + fmt.Sprint(pid) + `,"process":"` + name + `"}}`)
	}
	act1, act2 := fmt.Sprintf("%08x-%d", agent, 2*turn), fmt.Sprintf("%08x-%d", agent, 2*turn+1)
	evs := []chain.Event{
		{Kind: governance.KindIPCSend, Payload: json.RawMessage(`{"from":0,"id":` + fmt.Sprint(seq) + `,"payload_hash":"853cc8e08a0ec117be937e70813e70c36b148598100b3262a991aec7a95930aa","payload_kind":"json","size":16,"target":"process:` + fmt.Sprint(pid) + `"}`)},
		{Kind: governance.KindDecision, Payload: decision(act1, `"scope":"own","via":"recall"`)},
		{Kind: governance.KindMemorySearch, Payload: json.RawMessage(`{"action":"memory.search","action_id":"` + act1 + `","agent":"` + name +
			`","detail":{"k":5,"query_hash":"8b63b4da23d23e65957b0d6d88c64172dff5818946b41a3c9cd2a24c31c82c90","scope":"own"},"duration_us":4,"ok":true,"pid":` + fmt.Sprint(pid) + `,"session":"` + sess + `"}`)},
		{Kind: governance.KindDecision, Payload: decision(act2, `"model":"m"`)},
		{Kind: governance.KindLLMCall, Payload: json.RawMessage(`{"action":"llm.call","action_id":"` + act2 + `","agent":"` + name +
			`","detail":{"host":"127.0.0.1","input_tokens":1256,"loopback":true,"model":"m","output_tokens":1,"prompt_hash":"75e91b67a2dde0fed139eb7608daea724529241ff3789de1d3a4460b8fb3197f",` +
			`"provider":"openai","reply_hash":"a4d7db5f3756171b357054ba7e3ab0d8a794ba7bc8361b16274af9b3344399c2","reply_len":2,"stop_reason":"end","tool_calls":0},"duration_us":1497,"ok":true,"pid":` +
			fmt.Sprint(pid) + `,"session":"` + sess + `"}`)},
		{Kind: governance.KindIPCSend, Payload: json.RawMessage(`{"correlation_id":3,"from":` + fmt.Sprint(pid) + `,"id":4,"payload_hash":"ce483ef3b9dff53bc8485bf4a69c8a6f34c05588f5dc47b13dcf6e3af19224f8","payload_kind":"json","size":89,"target":"process:0"}`)},
	}
	for i := range evs {
		evs[i].Seq, evs[i].ChainID, evs[i].Timestamp = seq+uint64(i), 1, 1796392700524388108+int64(seq+uint64(i))*1000
		evs[i].Hash = chain.Hash(xref.ID{byte(seq), byte(seq >> 8), byte(seq >> 16), byte(seq >> 24), byte(i)})
	}
	return evs
}

// BenchmarkIndexTurns links and indexes chain events as the daemon's
// indexer does at 1,000 concurrent agents: turns of six events, agents
// interleaved, 8 turns per batch. One op = one turn (6 events). In the
// daemon the indexer runs between a thousand agents' work, which evicts
// its data from the CPU caches: "cold" sweeps 32 MiB of memory between
// batches (untimed) to do the same, but for the batch's events, just read
// from the chain; "warm" does not.
func BenchmarkIndexTurns(b *testing.B) {
	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) { benchIndexTurns(b, cold) })
	}
}

func benchIndexTurns(b *testing.B, cold bool) {
	const agents = 1000
	// The events of the timed turns, made beforehand.
	evs := make([]chain.Event, 0, 6*b.N)
	for i := range b.N {
		evs = append(evs, turnEvents(uint64(len(evs)), i%agents, i/agents)...)
	}
	var sweep []byte
	if cold {
		sweep = make([]byte, 32<<20)
	}
	x := xref.New()
	l := New("node", x)
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for at := 0; at < len(evs); at += 48 {
		if cold {
			b.StopTimer()
			for i := 0; i < len(sweep); i += 64 {
				sweep[i]++
			}
			// The events themselves were just read from the chain.
			for _, ev := range evs[at:min(at+48, len(evs))] {
				for i := 0; i < len(ev.Payload); i += 64 {
					sweep[i] += ev.Payload[i]
				}
			}
			b.StartTimer()
		}
		cpu0, _ := processCPU()
		batch, err := l.Batch(evs[at:min(at+48, len(evs))])
		if err != nil {
			b.Fatal(err)
		}
		if err := x.Apply(batch); err != nil {
			b.Fatal(err)
		}
		cpu1, _ := processCPU()
		cpu += cpu1 - cpu0
	}
	// The process's CPU (the garbage collector's included) per turn.
	if _, ok := processCPU(); ok {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
