package governance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Chain event kinds. This file is the one place that names every kind of
// event WeftOS writes on its chain and the shape of its payload: the daemon
// writes records with these kinds and structs, and the auditor decodes them
// with DecodeAuditInput. A kind missing from the registry (Kinds) is an
// audit finding.
const (
	// Governance records.
	KindDecision    = "governance.decision"
	KindRefusal     = "governance.refusal"
	KindAmendment   = "governance.amendment"
	KindResolution  = "governance.resolution"
	KindSanction    = "governance.sanction"
	KindEnvironment = "governance.environment"

	// Outcomes of acts carried out by the authority pipeline (payload
	// ActRecord with a kind-specific Detail).
	KindToolCall      = "tool.call"
	KindLLMCall       = "llm.call"
	KindNetEgress     = "net.egress"
	KindMemoryStore   = "memory.store"
	KindMemorySearch  = "memory.search"
	KindMemoryIngest  = "memory.ingest"
	KindMemoryDelete  = "memory.delete"
	KindMemoryReembed = "memory.reembed"
	KindToolInstall   = "tool.install"
	KindToolRemove    = "tool.remove"
	KindSessionRemove = "session.remove"
	KindAgentDefine   = "agent.definition"
	KindChainRepair   = "chain.repair"
	KindEccEdge       = "ecc.edge"    // an edge of the causal graph (ECC)
	KindEccAnalyze    = "ecc.analyze" // a batch of a document analysed into memory and the graph (ECC)
	KindAppInstall    = "app.install"
	KindAppRemove     = "app.remove"
	KindAppConfigure  = "app.configure"
	KindAppTrust      = "app.trust"
	KindAppDistrust   = "app.distrust"

	// Channels and the gateway: every inbound message and its reply (one
	// act, the decision naming the inbound hash, the outcome the reply's),
	// gateway tokens created and revoked, pairing approvals and denials,
	// and pairing requests from strangers (an observation).
	KindChannelMessage = "channel.message"
	KindGatewayToken   = "gateway.token"
	KindChannelPairing = "channel.pairing"
	KindPairingRequest = "channel.pairing_request"

	// Kernel events (payloads defined by the kernel). Those marked as
	// conditional acts below are the outcome of a gated kernel operation
	// when they carry an action.
	KindProcessSpawn   = "process.spawn"
	KindProcessState   = "process.state"
	KindProcessExit    = "process.exit"
	KindProcessLimit   = "process.limit"
	KindProcessElevate = "process.elevate"
	KindIPCSend        = "ipc.send"
	KindIPCDeadLetter  = "ipc.dead_letter"
	KindServiceReg     = "service.register"
	KindServiceUnreg   = "service.unregister"
	KindServiceHealth  = "service.health"
	KindCronAdd        = "cron.add"
	KindCronRemove     = "cron.remove"
	KindCronFire       = "cron.fire"
	KindSupRestart     = "supervisor.restart"
	KindSupGiveUp      = "supervisor.give_up"
	KindSupStartChild  = "supervisor.start_child"
	KindKernelBoot     = "kernel.boot"
	KindKernelShutdown = "kernel.shutdown"
	KindKernelReload   = "kernel.config_reload"
	KindKernelDenied   = "governance.denied"
)

// Class says how the auditor treats a kind.
type Class uint8

// Classes of chain events.
const (
	// ClassGovernance: decisions, refusals, amendments, resolutions,
	// sanctions and environment switches.
	ClassGovernance Class = iota + 1
	// ClassAct: the outcome of a governed act; it must carry the action id
	// of a permitting decision.
	ClassAct
	// ClassMaybeAct: a kernel event that is the outcome of a gated
	// operation when it carries an action (an IPC send to the Kernel
	// target, say) and a plain observation otherwise.
	ClassMaybeAct
	// ClassObservation: something that happened, not a privileged act
	// (process exits, dead letters, health changes).
	ClassObservation
)

// KindSpec describes one chain event kind.
type KindSpec struct {
	Kind  string
	Class Class
	// Detail, for ClassAct kinds, returns a pointer to the struct that
	// ActRecord.Detail decodes into (strictly); nil means the act has no
	// detail.
	Detail func() any
}

var kindSpecs = func() map[string]KindSpec {
	m := map[string]KindSpec{}
	add := func(kind string, c Class, detail func() any) {
		m[kind] = KindSpec{Kind: kind, Class: c, Detail: detail}
	}
	for _, k := range []string{KindDecision, KindRefusal, KindAmendment, KindResolution, KindSanction, KindEnvironment} {
		add(k, ClassGovernance, nil)
	}
	add(KindToolCall, ClassAct, func() any { return &ToolCallDetail{} })
	add(KindLLMCall, ClassAct, func() any { return &LLMCallDetail{} })
	add(KindNetEgress, ClassAct, func() any { return &NetEgressDetail{} })
	add(KindMemoryStore, ClassAct, func() any { return &MemoryDetail{} })
	add(KindMemorySearch, ClassAct, func() any { return &MemoryDetail{} })
	add(KindMemoryIngest, ClassAct, func() any { return &MemoryDetail{} })
	add(KindMemoryDelete, ClassAct, func() any { return &MemoryDetail{} })
	add(KindMemoryReembed, ClassAct, func() any { return &MemoryDetail{} })
	add(KindToolInstall, ClassAct, func() any { return &ToolInstallDetail{} })
	add(KindAppInstall, ClassAct, func() any { return &AppDetail{} })
	add(KindAppRemove, ClassAct, func() any { return &AppDetail{} })
	add(KindAppConfigure, ClassAct, func() any { return &AppConfigDetail{} })
	add(KindAppTrust, ClassAct, func() any { return &AppTrustDetail{} })
	add(KindAppDistrust, ClassAct, func() any { return &AppTrustDetail{} })
	add(KindToolRemove, ClassAct, func() any { return &ToolInstallDetail{} })
	add(KindSessionRemove, ClassAct, func() any { return &SessionDetail{} })
	add(KindAgentDefine, ClassAct, func() any { return &AgentDefinitionDetail{} })
	add(KindChannelMessage, ClassAct, func() any { return &ChannelMessageDetail{} })
	add(KindEccEdge, ClassAct, func() any { return &EccEdgeDetail{} })
	add(KindEccAnalyze, ClassAct, func() any { return &EccAnalyzeDetail{} })
	add(KindGatewayToken, ClassAct, func() any { return &GatewayTokenDetail{} })
	add(KindChannelPairing, ClassAct, func() any { return &PairingDetail{} })
	add(KindPairingRequest, ClassObservation, nil)
	for _, k := range []string{KindProcessSpawn, KindProcessState, KindProcessElevate, KindIPCSend, KindCronAdd, KindCronRemove,
		KindServiceReg, KindServiceUnreg} {
		add(k, ClassMaybeAct, nil)
	}
	for _, k := range []string{KindChainRepair, KindProcessExit, KindProcessLimit, KindIPCDeadLetter,
		KindServiceHealth, KindCronFire, KindSupRestart, KindSupGiveUp, KindSupStartChild, KindKernelBoot, KindKernelShutdown, KindKernelReload, KindKernelDenied} {
		add(k, ClassObservation, nil)
	}
	return m
}()

// LookupKind returns the registered spec of kind.
func LookupKind(kind string) (KindSpec, bool) {
	s, ok := kindSpecs[kind]
	return s, ok
}

// Kinds lists every registered kind, sorted.
func Kinds() []KindSpec {
	out := make([]KindSpec, 0, len(kindSpecs))
	for _, s := range kindSpecs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// DecisionRecord is the payload of a governance.decision event: the request
// as the caller made it, the decision (whose Effect is the assessed vector
// the rules saw) and the action id that later records refer to.
type DecisionRecord struct {
	ActionID string   `json:"action_id"`
	Request  Request  `json:"request"`
	Decision Decision `json:"decision"`
}

// Refusal stages: where an act was refused before governance decided it.
const (
	StageInput      = "input"      // the act could not be described (bad input, unknown target)
	StageCapability = "capability" // the subject lacks a capability the act needs
	StageLimit      = "limit"      // a resource limit (tool calls, tokens) is exhausted
	StageState      = "state"      // the act conflicts with current state (already installed, …)
)

// RefusalRecord is the payload of a governance.refusal event: an act
// refused before (or instead of) a governance decision, with the reason.
// Refusals are recorded so that every attempt leaves a trace.
type RefusalRecord struct {
	ActionID string  `json:"action_id"`
	Stage    string  `json:"stage"`
	Reason   string  `json:"reason"`
	Request  Request `json:"request"`
}

// AmendmentRecord is the payload of a governance.amendment event. ActionID
// refers to the decision that allowed the amendment (empty only for the
// genesis adoption); ResultHash and ResultRevision describe the constitution
// in force after it.
type AmendmentRecord struct {
	ActionID       string    `json:"action_id,omitempty"`
	Amendment      Amendment `json:"amendment"`
	ResultHash     string    `json:"result_hash"`
	ResultRevision uint64    `json:"result_revision"`
	// Origin is the node id of the cluster member whose amendment this is,
	// when it was committed through the cluster's replicated log (whose
	// entry RaftIndex is); its signer is that node's key, not necessarily
	// this node's.
	Origin    string `json:"origin,omitempty"`
	RaftIndex uint64 `json:"raft_index,omitempty"`
}

// ResolutionRecord is the payload of a governance.resolution event: a human
// (or the deadline) resolved a deferred action.
type ResolutionRecord struct {
	ActionID string `json:"action_id"`
	Approved bool   `json:"approved"`
	Expired  bool   `json:"expired,omitempty"`
	By       string `json:"by,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// SanctionRecord is the payload of a governance.sanction event, and what the
// auditor asks the daemon to apply.
type SanctionRecord struct {
	Agent           string   `json:"agent"`
	PID             uint64   `json:"pid,omitempty"`
	RuleID          string   `json:"rule_id"`
	Sanction        Sanction `json:"sanction"`
	Reason          string   `json:"reason"`
	TriggerActionID string   `json:"trigger_action_id"`
	AgentRisk       float64  `json:"agent_risk"`
}

func (s *SanctionRecord) key() string {
	return s.Agent + "\x00" + s.RuleID + "\x00" + s.Sanction.String() + "\x00" + s.TriggerActionID
}

// EnvironmentRecord is the payload of a governance.environment event: the
// environment the gate decides in was switched, under the decision ActionID.
type EnvironmentRecord struct {
	ActionID    string `json:"action_id"`
	From        string `json:"from"`
	Environment string `json:"environment"`
}

// ActRecord is the payload of every act outcome the authority pipeline
// records: which decision allowed the act, who did it, whether it
// succeeded, how long it took, and kind-specific facts in Detail.
type ActRecord struct {
	ActionID string          `json:"action_id"`
	Action   string          `json:"action"`
	Agent    string          `json:"agent"`
	PID      uint64          `json:"pid,omitempty"`
	Session  string          `json:"session,omitempty"`
	OK       bool            `json:"ok"`
	Error    string          `json:"error,omitempty"`
	Micros   int64           `json:"duration_us"`
	Detail   json.RawMessage `json:"detail,omitempty"`
}

// ToolCallDetail is the Detail of tool.call: hashes of input and output
// (never content), the fuel a WASM tool used and the grants it ran with.
type ToolCallDetail struct {
	Tool       string   `json:"tool"`
	CallID     string   `json:"call_id,omitempty"`
	InputHash  string   `json:"input_hash"`
	OutputHash string   `json:"output_hash,omitempty"`
	OutputLen  int      `json:"output_len,omitempty"`
	Fuel       int64    `json:"fuel_used,omitempty"`
	Version    string   `json:"version,omitempty"`
	SHA256     string   `json:"sha256,omitempty"`
	Grants     []string `json:"grants,omitempty"`
	InstallSeq *uint64  `json:"install_seq,omitempty"`
	Confined   *bool    `json:"confined,omitempty"`
}

// LLMCallDetail is the Detail of llm.call: the provider and host asked,
// token counts and hashes of prompt and reply — never content or keys.
type LLMCallDetail struct {
	Provider     string `json:"provider"`
	Model        string `json:"model"`
	Host         string `json:"host,omitempty"`
	Loopback     bool   `json:"loopback,omitempty"`
	InputTokens  int    `json:"input_tokens"`
	OutputTokens int    `json:"output_tokens"`
	PromptHash   string `json:"prompt_hash"`
	ReplyHash    string `json:"reply_hash,omitempty"`
	ReplyLen     int    `json:"reply_len"`
	ToolCalls    int    `json:"tool_calls"`
	StopReason   string `json:"stop_reason,omitempty"`
}

// NetEgressDetail is the Detail of net.egress (a WASM tool's http_fetch).
type NetEgressDetail struct {
	Tool   string `json:"tool"`
	Host   string `json:"host"`
	Method string `json:"method,omitempty"`
	Status int    `json:"status,omitempty"`
	Bytes  int    `json:"bytes,omitempty"`
}

// MemoryDetail is the Detail of memory.* acts.
type MemoryDetail struct {
	ID        string   `json:"id,omitempty"`
	Created   bool     `json:"created,omitempty"`
	Bytes     int      `json:"bytes,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	Shared    bool     `json:"shared,omitempty"`
	QueryHash string   `json:"query_hash,omitempty"`
	K         int      `json:"k,omitempty"`
	Hits      []string `json:"hits,omitempty"`
	Scope     string   `json:"scope,omitempty"`
	Paths     []string `json:"paths,omitempty"`
	Files     int      `json:"files,omitempty"`
	Chunks    int      `json:"chunks,omitempty"`
	Embedder  string   `json:"embedder,omitempty"`
	Records   int      `json:"records,omitempty"`
	// Document, Source, First and ChunkIDs describe one batch of an
	// ingested file: the BLAKE3-256 of the file's bytes (hex; its universal
	// id is derived from it), its path, the index of the batch's first
	// chunk, and the ids of the records its chunks became, in order (a
	// chunk that could not be stored is "").
	Document string   `json:"document,omitempty"`
	Source   string   `json:"source,omitempty"`
	First    int      `json:"first,omitempty"`
	ChunkIDs []string `json:"chunk_ids,omitempty"`
}

// ToolInstallDetail is the Detail of tool.install and tool.remove.
type ToolInstallDetail struct {
	Tool       string   `json:"tool"`
	Version    string   `json:"version,omitempty"`
	SHA256     string   `json:"sha256,omitempty"`
	Source     string   `json:"source,omitempty"`
	Grants     []string `json:"grants,omitempty"`
	RecordHash string   `json:"record_hash,omitempty"`
}

// AppDetail is the Detail of app.install (an install or an upgrade) and
// app.remove: the package's digest binds what was approved to what runs.
type AppDetail struct {
	App        string   `json:"app"`
	Version    string   `json:"version,omitempty"`
	Digest     string   `json:"digest,omitempty"`
	Signature  string   `json:"signature,omitempty"` // trusted, untrusted or unsigned
	Publisher  string   `json:"publisher,omitempty"`
	Requests   []string `json:"requests,omitempty"`
	Previous   string   `json:"previous,omitempty"` // the version an upgrade replaced
	RolledBack bool     `json:"rolled_back,omitempty"`
}

// AppConfigDetail is the Detail of app.configure: the settings an
// operator set (each value as text; a secret's as "sha256:HEX" of a
// domain-separated hash, never in clear) and unset, for the app version
// installed.
type AppConfigDetail struct {
	App     string            `json:"app"`
	Version string            `json:"version"`
	Set     map[string]string `json:"set,omitempty"`
	Unset   []string          `json:"unset,omitempty"`
	// Secrets names the keys of Set and Unset that are secret.
	Secrets []string `json:"secrets,omitempty"`
}

// AppTrustDetail is the Detail of app.trust and app.distrust: a publisher
// key (hex Ed25519) the node trusts, or stops trusting, to sign apps.
type AppTrustDetail struct {
	Key    string `json:"key"`
	Name   string `json:"name,omitempty"`
	Source string `json:"source,omitempty"` // where the key was read from
}

// SessionDetail is the Detail of session.remove.
type SessionDetail struct {
	Session string `json:"session"`
}

// AgentDefinitionDetail is the Detail of agent.definition: a workspace
// definition asking for more than the operator's default was used.
type AgentDefinitionDetail struct {
	Definition string   `json:"definition"`
	Source     string   `json:"source"`
	SHA256     string   `json:"sha256"`
	Exceeds    []string `json:"exceeds"`
}

// ChannelMessageDetail is the Detail of channel.message: one inbound
// message from a channel (chat app, the gateway's OpenAI endpoint, its
// WebSocket, a webhook) and the reply it got — who sent it, where, to which
// agent and session, and hashes of both texts (never the texts).
type ChannelMessageDetail struct {
	Channel      string `json:"channel"`
	Sender       string `json:"sender"`
	Peer         string `json:"peer,omitempty"`
	Group        string `json:"group,omitempty"`
	Agent        string `json:"agent"`
	Session      string `json:"session"`
	InboundHash  string `json:"inbound_hash"`
	InboundLen   int    `json:"inbound_len"`
	OutboundHash string `json:"outbound_hash,omitempty"`
	OutboundLen  int    `json:"outbound_len,omitempty"`
	// Attachments are the files the message carried: received into the
	// workspace (path, size, hash) or refused (why).
	Attachments []AttachmentRecord `json:"attachments,omitempty"`
}

// EccEdgeDetail is the Detail of ecc.edge: an edge added to the causal
// graph (ids are universal xref ids, times Unix ns), how many derived
// artifacts it made stale, or the cycle it would have closed.
type EccEdgeDetail struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Type      string  `json:"type"`
	Weight    float32 `json:"weight"`
	ValidFrom int64   `json:"valid_from"`
	ValidTo   int64   `json:"valid_to,omitempty"`
	Recorded  int64   `json:"recorded"`
	// DecisionSeq is the chain seq of the decision that allowed the edge:
	// the seq the graph links it to.
	DecisionSeq uint64   `json:"decision_seq"`
	Added       bool     `json:"added"`
	Stale       int      `json:"stale,omitempty"`
	Cycle       []string `json:"cycle,omitempty"`
}

// EccAnalyzeDetail is the Detail of ecc.analyze: one batch of a document
// (a file, or a session's transcript) analysed into memory records and
// causal edges. The edges are a function of this record — each chunk
// part_of the document, each chunk follows the one before it (Prev for the
// first), each chunk mentions its entities — so the graph is rebuilt from
// the chain exactly.
type EccAnalyzeDetail struct {
	Document string `json:"document"` // the document's universal id
	Key      string `json:"key"`      // its xref key: doc:BLAKE3 of a file, session:NAME
	Source   string `json:"source"`   // the file's path, or session:NAME
	First    int    `json:"first"`    // index of the batch's first chunk
	Prev     string `json:"prev,omitempty"`
	// Chunks are the records' content ids, in order ("" for a chunk that
	// could not be stored); Mentions[i] indexes Entities for chunk i.
	Chunks   []string `json:"chunks"`
	Entities []string `json:"entities,omitempty"` // KIND:KEY
	Mentions [][]int  `json:"mentions,omitempty"`
	// DecisionSeq and Recorded are the edges' seq and recorded time.
	DecisionSeq uint64 `json:"decision_seq"`
	Recorded    int64  `json:"recorded"`
	Created     int    `json:"created"` // new memory records
	Edges       int    `json:"edges"`   // edges the batch implies
	Added       int    `json:"added"`   // of which new to the graph
	Refused     int    `json:"refused,omitempty"`
}

// AttachmentRecord is one file of an inbound message.
type AttachmentRecord struct {
	Name    string `json:"name"`
	MIME    string `json:"mime,omitempty"`
	Size    int64  `json:"size,omitempty"`
	Path    string `json:"path,omitempty"`
	Hash    string `json:"hash,omitempty"`
	Refused string `json:"refused,omitempty"`
}

// GatewayTokenDetail is the Detail of gateway.token: a bearer token created
// or revoked (its id, never its secret).
type GatewayTokenDetail struct {
	TokenID string   `json:"token_id"`
	Agents  []string `json:"agents,omitempty"`
	Scopes  []string `json:"scopes,omitempty"`
	Revoked bool     `json:"revoked,omitempty"`
}

// PairingDetail is the Detail of channel.pairing: a stranger's pairing
// request approved (the sender may now talk to agents on that channel) or
// denied.
type PairingDetail struct {
	Channel  string `json:"channel"`
	Sender   string `json:"sender"`
	Code     string `json:"code"`
	Approved bool   `json:"approved"`
}

// ActionRecord is the governance view of an executed privileged action: which
// decision allowed it. For ClassAct kinds it is read from the ActRecord; for
// kernel events (ClassMaybeAct) from their action fields.
type ActionRecord struct {
	ActionID string `json:"action_id"`
	Action   string `json:"action"`
	Agent    string `json:"agent,omitempty"`
	PID      uint64 `json:"pid,omitempty"`
}

// AuditInput is one chain event as the auditor sees it: at most one of the
// record pointers is set (none for a plain observation).
type AuditInput struct {
	Seq        uint64
	Kind       string
	Decision   *DecisionRecord
	Refusal    *RefusalRecord
	Amendment  *AmendmentRecord
	Resolution *ResolutionRecord
	Sanction   *SanctionRecord
	Action     *ActionRecord
	// Unknown is set when the kind is not registered.
	Unknown bool
}

// ErrBadRecord is wrapped by DecodeAuditInput errors.
var ErrBadRecord = errors.New("governance: malformed record")

// DecodeAuditInput decodes a chain event payload according to the kind
// registry. Governance records and act records are decoded strictly
// (unknown fields are an error: they are written from this file's structs);
// kernel events are read for their action fields only; an unregistered kind
// decodes to an input with Unknown set, which the auditor reports.
func DecodeAuditInput(seq uint64, kind string, payload []byte) (AuditInput, error) {
	in := AuditInput{Seq: seq, Kind: kind}
	spec, ok := LookupKind(kind)
	if !ok {
		in.Unknown = true
		return in, nil
	}
	bad := func(format string, args ...any) (AuditInput, error) {
		return AuditInput{}, fmt.Errorf("%w: seq %d kind %s: %s", ErrBadRecord, seq, kind, fmt.Sprintf(format, args...))
	}
	switch spec.Class {
	case ClassGovernance:
		var target any
		switch kind {
		case KindDecision:
			in.Decision = &DecisionRecord{}
			target = in.Decision
		case KindRefusal:
			in.Refusal = &RefusalRecord{}
			target = in.Refusal
		case KindAmendment:
			in.Amendment = &AmendmentRecord{}
			target = in.Amendment
		case KindResolution:
			in.Resolution = &ResolutionRecord{}
			target = in.Resolution
		case KindSanction:
			in.Sanction = &SanctionRecord{}
			target = in.Sanction
		case KindEnvironment:
			var env EnvironmentRecord
			if err := decodeStrict(payload, &env); err != nil {
				return bad("%v", err)
			}
			in.Action = &ActionRecord{ActionID: env.ActionID, Action: "constitution.env", Agent: "operator"}
			return in, nil
		}
		if err := decodeStrict(payload, target); err != nil {
			return bad("%v", err)
		}
	case ClassAct:
		var rec ActRecord
		if err := decodeStrict(payload, &rec); err != nil {
			return bad("%v", err)
		}
		if rec.Action == "" {
			return bad("missing action")
		}
		if spec.Detail != nil && len(rec.Detail) > 0 {
			if err := decodeStrict(rec.Detail, spec.Detail()); err != nil {
				return bad("detail: %v", err)
			}
		}
		in.Action = &ActionRecord{ActionID: rec.ActionID, Action: rec.Action, Agent: rec.Agent, PID: rec.PID}
	case ClassMaybeAct:
		var rec ActionRecord
		if err := decodeLoose(payload, &rec); err != nil {
			return bad("%v", err)
		}
		if rec.Action != "" {
			in.Action = &rec
		}
	case ClassObservation:
		if err := decodeLoose(payload, &map[string]any{}); err != nil {
			return bad("%v", err)
		}
	}
	switch {
	case in.Decision != nil && in.Decision.ActionID == "":
		return bad("decision without action_id")
	case in.Refusal != nil && in.Refusal.ActionID == "":
		return bad("refusal without action_id")
	case in.Resolution != nil && in.Resolution.ActionID == "":
		return bad("resolution without action_id")
	}
	return in, nil
}

func decodeStrict(payload []byte, target any) error { return decodeJSON(payload, target, true) }

func decodeLoose(payload []byte, target any) error { return decodeJSON(payload, target, false) }

// decodeJSON decodes exactly one JSON value into target; strict refuses
// unknown fields.
func decodeJSON(payload []byte, target any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(target); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// ActKinds lists the kinds whose events are the outcome of a governed act.
func ActKinds() []string {
	var out []string
	for _, s := range Kinds() {
		if s.Class == ClassAct {
			out = append(out, s.Kind)
		}
	}
	return slices.Clip(out)
}
