package apitype

// AppConfigRequest is the body of POST /v1/apps/{name}/config: settings to
// set (KEY → value as text, checked against the type the app declares)
// and to unset (back to the default) — one governed act, app.configure.
type AppConfigRequest struct {
	Set   map[string]string `json:"set,omitempty"`
	Unset []string          `json:"unset,omitempty"`
	// Restart stops and starts the app after the change when it runs, so
	// its processes take the new values at once.
	Restart bool `json:"restart,omitempty"`
}

// Where a setting's value comes from.
const (
	ConfigSourceSet     = "set"     // the operator set it (weave app config)
	ConfigSourceDefault = "default" // the manifest's default
	ConfigSourceUnset   = "unset"   // neither: the app does not start until it is set
)

// AppConfigSetting is one setting of an installed app.
type AppConfigSetting struct {
	Key         string `json:"key"`
	Type        string `json:"type"` // string, int, bool or float
	Secret      bool   `json:"secret,omitempty"`
	Description string `json:"description,omitempty"`
	// Default is the manifest's default (canonical text); absent when it
	// has none.
	Default *string `json:"default,omitempty"`
	// Value is the value in effect — the one set, else the default —
	// absent for a secret (never shown: see Hash) and for an unset
	// setting.
	Value  *string `json:"value,omitempty"`
	Source string  `json:"source"` // ConfigSource*
	// Hash is a set secret's hash, as app.configure recorded it.
	Hash string `json:"hash,omitempty"`
	// Undeclared marks a value kept from an earlier version of the app
	// that declared the key; this version does not (it is not delivered;
	// unset it to drop it).
	Undeclared bool `json:"undeclared,omitempty"`
}

// AppConfig answers GET and POST /v1/apps/{name}/config: the app's
// settings with their effective values.
type AppConfig struct {
	App      string             `json:"app"`
	Version  string             `json:"version"`
	Settings []AppConfigSetting `json:"settings"`
	// ActionID and Seq identify the last app.configure (its outcome's
	// chain seq); empty when the app was never configured.
	ActionID string `json:"action_id,omitempty"`
	Seq      uint64 `json:"seq,omitempty"`
	Running  bool   `json:"running"`
	// Restarted: the app was stopped and started again to take the change
	// (AppConfigRequest.Restart).
	Restarted bool `json:"restarted,omitempty"`
}

// PublisherTrustRequest is the body of POST /v1/publishers: trust a
// publisher key to sign apps (a governed act, app.trust).
type PublisherTrustRequest struct {
	Key    string `json:"key"`              // hex Ed25519 public key
	Name   string `json:"name,omitempty"`   // a name to know it by
	Source string `json:"source,omitempty"` // where the key was read from (a file), for the record
}

// PublisherKey is a line of the trusted publisher keys file.
type PublisherKey struct {
	ID   string `json:"id"` // the key's first 16 hex digits
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
	// Seq is the chain seq of the decision that trusted it; 0 for a key
	// added to the file by hand (no record).
	Seq   uint64 `json:"seq,omitempty"`
	Added string `json:"added,omitempty"`
	Line  int    `json:"line"`
	// Invalid says why the line trusts nothing (it is kept in the file).
	Invalid string `json:"invalid,omitempty"`
}

// PublisherList answers GET /v1/publishers.
type PublisherList struct {
	File string         `json:"file"`
	Keys []PublisherKey `json:"keys"`
}
