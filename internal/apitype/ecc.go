package apitype

// XrefNode is one identified structure in the cross-reference index: its
// universal id (BLAKE3-256, hex), what it is, and its key ("seq:42",
// "session:s1", "pid:7", "memory:CONTENTID", "call:PID/CALLID",
// "action:ID").
type XrefNode struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Key  string `json:"key,omitempty"`
}

// XrefLink is one cross-reference: From → To, its relation, and the seq of
// the chain event that established it.
type XrefLink struct {
	From string `json:"from"`
	To   string `json:"to"`
	Rel  string `json:"rel"`
	Seq  uint64 `json:"seq"`
}

// XrefResponse answers GET /v1/xref/{id}?depth=N: the node asked for
// (first), every node within depth links of it, and those links. Through
// is the chain position indexed (events below it are covered).
type XrefResponse struct {
	Nodes     []XrefNode `json:"nodes"`
	Links     []XrefLink `json:"links"`
	Through   uint64     `json:"through"`
	Truncated bool       `json:"truncated,omitempty"`
}
