package apitype

import "time"

// GatewayTokenCreateRequest is the body of POST /v1/gateway/tokens: a
// bearer token for the agents named, with scopes (empty: all of chat,
// models, ws).
type GatewayTokenCreateRequest struct {
	Agents []string `json:"agents"`
	Scopes []string `json:"scopes,omitempty"`
	Label  string   `json:"label,omitempty"`
}

// GatewayToken is a token as listed: never its secret.
type GatewayToken struct {
	ID      string     `json:"id"`
	Agents  []string   `json:"agents"`
	Scopes  []string   `json:"scopes"`
	Label   string     `json:"label,omitempty"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// GatewayTokenCreated answers POST /v1/gateway/tokens: the secret, shown
// this once (only its hash is kept).
type GatewayTokenCreated struct {
	Token    string       `json:"token"`
	Info     GatewayToken `json:"info"`
	ActionID string       `json:"action_id"`
}

// GatewayTokensResponse answers GET /v1/gateway/tokens.
type GatewayTokensResponse struct {
	Tokens []GatewayToken `json:"tokens"`
}

// GatewayInfo is the gateway's part of GET /v1/channels.
type GatewayInfo struct {
	// Listen is the configured address ("" when the gateway is off), Addr
	// the bound one.
	Listen string   `json:"listen"`
	Addr   string   `json:"addr,omitempty"`
	TLS    bool     `json:"tls"`
	Tokens int      `json:"tokens"`
	Hooks  []string `json:"hooks,omitempty"`
}

// ChannelStatus is one chat channel in GET /v1/channels.
type ChannelStatus struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Since     time.Time `json:"since,omitzero"`
	Restarts  int       `json:"restarts"`
	LastError string    `json:"last_error,omitempty"`
	Received  uint64    `json:"received"`
	Answered  uint64    `json:"answered"`
	Refused   uint64    `json:"refused"`
}

// ChannelsResponse answers GET /v1/channels: the gateway and every
// configured chat channel.
type ChannelsResponse struct {
	Gateway  GatewayInfo     `json:"gateway"`
	Channels []ChannelStatus `json:"channels"`
}

// PairingRequest is a stranger's pending pairing request.
type PairingRequest struct {
	Code    string    `json:"code"`
	Channel string    `json:"channel"`
	Sender  string    `json:"sender"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// PairedSender is an approved sender.
type PairedSender struct {
	Channel  string    `json:"channel"`
	Sender   string    `json:"sender"`
	Name     string    `json:"name,omitempty"`
	Approved time.Time `json:"approved"`
}

// PairingResponse answers GET /v1/pairing.
type PairingResponse struct {
	Pending  []PairingRequest `json:"pending"`
	Approved []PairedSender   `json:"approved"`
}

// PairingResolveResponse answers POST /v1/pairing/{code}/{verdict}
// (approve or deny, a governed act).
type PairingResolveResponse struct {
	Code     string `json:"code"`
	Channel  string `json:"channel"`
	Sender   string `json:"sender"`
	Approved bool   `json:"approved"`
	ActionID string `json:"action_id"`
}
