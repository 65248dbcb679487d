package xref

// Universal ids of structures many events refer to: entities, their
// content only, so every package that names one names the same node.

// SessionNode is a session's node (its name).
func SessionNode(name string) (Node, error) {
	id, err := EntityFields("session", Str("name", name))
	return Node{ID: id, Type: "session", Key: "session:" + name}, err
}

// MemoryNode is a memory record's node (its content id).
func MemoryNode(contentID string) (Node, error) {
	id, err := EntityFields("memory.record", Str("content_id", contentID))
	return Node{ID: id, Type: "memory.record", Key: "memory:" + contentID}, err
}
