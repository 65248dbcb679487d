package kernel

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TargetKind is one of the seven IPC target types.
type TargetKind uint8

// The seven IPC target kinds.
const (
	TargetProcess       TargetKind = iota + 1 // one process by PID
	TargetTopic                               // every subscriber of a topic
	TargetBroadcast                           // every running process but the sender
	TargetService                             // the process that owns a service
	TargetServiceMethod                       // a method of a service's contract
	TargetRemoteNode                          // a target on another node (needs the mesh)
	TargetKernel                              // the kernel, PID 0
)

var targetNames = [...]string{"", "process", "topic", "broadcast", "service", "service_method", "remote", "kernel"}

func (k TargetKind) String() string {
	if int(k) < len(targetNames) && k != 0 {
		return targetNames[k]
	}
	return "target(" + strconv.Itoa(int(k)) + ")"
}

// Target addresses an IPC message. Only the fields its Kind uses are set;
// RemoteNode wraps an inner target.
type Target struct {
	Kind    TargetKind `json:"kind"`
	PID     PID        `json:"pid,omitempty"`
	Topic   string     `json:"topic,omitempty"`
	Service string     `json:"service,omitempty"`
	Method  string     `json:"method,omitempty"`
	Node    string     `json:"node,omitempty"`
	Inner   *Target    `json:"inner,omitempty"`
}

// Target constructors.
func ToProcess(pid PID) Target     { return Target{Kind: TargetProcess, PID: pid} }
func ToTopic(name string) Target   { return Target{Kind: TargetTopic, Topic: name} }
func ToBroadcast() Target          { return Target{Kind: TargetBroadcast} }
func ToService(name string) Target { return Target{Kind: TargetService, Service: name} }
func ToKernel() Target             { return Target{Kind: TargetKernel} }
func ToMethod(svc, method string) Target {
	return Target{Kind: TargetServiceMethod, Service: svc, Method: method}
}

// ToRemote addresses inner on another node.
func ToRemote(node string, inner Target) Target {
	return Target{Kind: TargetRemoteNode, Node: node, Inner: &inner}
}

func (t Target) String() string {
	switch t.Kind {
	case TargetProcess:
		if t.PID == KernelPID {
			return "process:0" // the replies to every request the operator sends
		}
		var b [32]byte
		return string(strconv.AppendUint(append(b[:0], "process:"...), uint64(t.PID), 10))
	case TargetTopic:
		return "topic:" + t.Topic
	case TargetBroadcast:
		return "broadcast"
	case TargetService:
		return "service:" + t.Service
	case TargetServiceMethod:
		return "service:" + t.Service + "." + t.Method
	case TargetRemoteNode:
		inner := "?"
		if t.Inner != nil {
			inner = t.Inner.String()
		}
		return "remote:" + t.Node + "/" + inner
	case TargetKernel:
		return "kernel"
	}
	return t.Kind.String()
}

// MarshalJSON encodes Kind by name.
func (k TargetKind) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// UnmarshalJSON decodes Kind by name.
func (k *TargetKind) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for i, n := range targetNames {
		if n == s && i != 0 {
			*k = TargetKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown target kind %q", ErrInvalid, s)
}

// PayloadKind is the type of a message's payload.
type PayloadKind uint8

// Payload kinds.
const (
	PayloadText PayloadKind = iota + 1
	PayloadJSON
	PayloadToolCall
	PayloadToolResult
	PayloadSignal
	PayloadBinary
)

var payloadNames = [...]string{"", "text", "json", "tool_call", "tool_result", "signal", "binary"}

func (k PayloadKind) String() string {
	if int(k) < len(payloadNames) && k != 0 {
		return payloadNames[k]
	}
	return "payload(" + strconv.Itoa(int(k)) + ")"
}

// MarshalJSON encodes the kind by name.
func (k PayloadKind) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// UnmarshalJSON decodes the kind by name.
func (k *PayloadKind) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for i, n := range payloadNames {
		if n == s && i != 0 {
			*k = PayloadKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown payload kind %q", ErrInvalid, s)
}

// Signal is a control message.
type Signal uint8

// Signals.
const (
	SignalShutdown Signal = iota + 1
	SignalSuspend
	SignalResume
	SignalPing
	SignalPong
	SignalKill
	SignalReloadConfig
)

var signalNames = [...]string{"", "shutdown", "suspend", "resume", "ping", "pong", "kill", "reload_config"}

func (s Signal) String() string {
	if int(s) < len(signalNames) && s != 0 {
		return signalNames[s]
	}
	return "signal(" + strconv.Itoa(int(s)) + ")"
}

// ParseSignal parses a signal name.
func ParseSignal(s string) (Signal, error) {
	for i, n := range signalNames {
		if i != 0 && n == strings.ToLower(s) {
			return Signal(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown signal %q", ErrInvalid, s)
}

// MarshalJSON encodes the signal by name.
func (s Signal) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON decodes the signal by name.
func (s *Signal) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	v, err := ParseSignal(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ToolCall asks a process to run a tool.
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// ToolResult answers a ToolCall.
type ToolResult struct {
	ID      string          `json:"id"`
	Output  json.RawMessage `json:"output,omitempty"`
	Error   string          `json:"error,omitempty"`
	IsError bool            `json:"is_error,omitempty"`
}

// Payload is a message body. Kind says which field is set.
type Payload struct {
	Kind       PayloadKind     `json:"kind"`
	Text       string          `json:"text,omitempty"`
	JSON       json.RawMessage `json:"json,omitempty"`
	ToolCall   *ToolCall       `json:"tool_call,omitempty"`
	ToolResult *ToolResult     `json:"tool_result,omitempty"`
	Signal     Signal          `json:"signal,omitempty"`
	Binary     []byte          `json:"binary,omitempty"`
}

// Payload constructors.
func Text(s string) Payload                 { return Payload{Kind: PayloadText, Text: s} }
func JSONPayload(b json.RawMessage) Payload { return Payload{Kind: PayloadJSON, JSON: b} }
func SignalPayload(s Signal) Payload        { return Payload{Kind: PayloadSignal, Signal: s} }
func Binary(b []byte) Payload               { return Payload{Kind: PayloadBinary, Binary: b} }

// Size is the payload's approximate size in bytes, used for inbox memory
// accounting.
func (p Payload) Size() int {
	n := len(p.Text) + len(p.JSON) + len(p.Binary)
	if p.ToolCall != nil {
		n += len(p.ToolCall.ID) + len(p.ToolCall.Name) + len(p.ToolCall.Arguments)
	}
	if p.ToolResult != nil {
		n += len(p.ToolResult.ID) + len(p.ToolResult.Output) + len(p.ToolResult.Error)
	}
	return n
}

// Validate checks that the field Kind names is set consistently.
func (p Payload) Validate() error {
	switch p.Kind {
	case PayloadText, PayloadBinary:
		return nil
	case PayloadJSON:
		if !json.Valid(p.JSON) {
			return fmt.Errorf("%w: JSON payload is not valid JSON", ErrInvalid)
		}
	case PayloadToolCall:
		if p.ToolCall == nil || p.ToolCall.Name == "" {
			return fmt.Errorf("%w: tool_call payload needs a tool name", ErrInvalid)
		}
	case PayloadToolResult:
		if p.ToolResult == nil {
			return fmt.Errorf("%w: tool_result payload is empty", ErrInvalid)
		}
	case PayloadSignal:
		if p.Signal < SignalShutdown || p.Signal > SignalReloadConfig {
			return fmt.Errorf("%w: unknown signal %d", ErrInvalid, p.Signal)
		}
	default:
		return fmt.Errorf("%w: unknown payload kind %d", ErrInvalid, p.Kind)
	}
	return nil
}

// Envelope is one IPC message.
type Envelope struct {
	ID            uint64    `json:"id"`
	From          PID       `json:"from"`
	Target        Target    `json:"target"`
	Payload       Payload   `json:"payload"`
	Timestamp     time.Time `json:"timestamp"`
	CorrelationID uint64    `json:"correlation_id,omitempty"`
	TraceID       string    `json:"trace_id,omitempty"`
	// ReplyTo is set on requests that expect an answer; Reply fills it in.
	ReplyTo bool `json:"reply_to,omitempty"`
	// Origin is the node a message came from over the mesh (empty for a
	// local one); such a message is sent here as the kernel, PID 0.
	Origin string `json:"origin,omitempty"`
}
