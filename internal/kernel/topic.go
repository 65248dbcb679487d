package kernel

import (
	"sort"
	"sync"
)

// topicTable maps topic names to subscribers: processes and in-kernel sinks
// (for example an operator's `weave ipc subscribe` stream).
type topicTable struct {
	mu     sync.RWMutex
	topics map[string]*topic
	nextID uint64
}

type topic struct {
	procs map[PID]struct{}
	sinks map[uint64]func(*Envelope) bool
}

func (t *topicTable) init() { t.topics = make(map[string]*topic) }

func (t *topicTable) get(name string) *topic {
	tp, ok := t.topics[name]
	if !ok {
		tp = &topic{procs: make(map[PID]struct{}), sinks: make(map[uint64]func(*Envelope) bool)}
		t.topics[name] = tp
	}
	return tp
}

func (t *topicTable) gc(name string) {
	if tp, ok := t.topics[name]; ok && len(tp.procs) == 0 && len(tp.sinks) == 0 {
		delete(t.topics, name)
	}
}

func (t *topicTable) addProcess(name string, pid PID) {
	t.mu.Lock()
	t.get(name).procs[pid] = struct{}{}
	t.mu.Unlock()
}

func (t *topicTable) removeProcess(name string, pid PID) {
	t.mu.Lock()
	if tp, ok := t.topics[name]; ok {
		delete(tp.procs, pid)
		t.gc(name)
	}
	t.mu.Unlock()
}

func (t *topicTable) publish(k *Kernel, env *Envelope) {
	t.mu.RLock()
	tp, ok := t.topics[env.Target.Topic]
	var pids []PID
	var sinks []func(*Envelope) bool
	if ok {
		pids = make([]PID, 0, len(tp.procs))
		for p := range tp.procs {
			if p != env.From {
				pids = append(pids, p)
			}
		}
		for _, s := range tp.sinks {
			sinks = append(sinks, s)
		}
	}
	t.mu.RUnlock()
	if len(pids) == 0 && len(sinks) == 0 {
		k.deadLetter(env, "topic has no subscribers")
		return
	}
	for _, pid := range pids {
		if p, err := k.lookup(pid); err == nil {
			c := *env
			k.enqueue(p, &c)
		}
	}
	for _, s := range sinks {
		c := *env
		if !s(&c) {
			k.deadLetter(&c, "topic subscriber is not keeping up")
		}
	}
}

// SubscribeFunc attaches an in-kernel sink to a topic. The sink must not
// block: it returns false when it cannot take the message, which then goes
// to the dead-letter queue. The returned func detaches it.
func (k *Kernel) SubscribeFunc(topicName string, sink func(*Envelope) bool) (cancel func()) {
	t := &k.topics
	t.mu.Lock()
	t.nextID++
	id := t.nextID
	t.get(topicName).sinks[id] = sink
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		if tp, ok := t.topics[topicName]; ok {
			delete(tp.sinks, id)
			t.gc(topicName)
		}
		t.mu.Unlock()
	}
}

// TopicInfo describes a topic.
type TopicInfo struct {
	Name        string `json:"name"`
	Subscribers int    `json:"subscribers"`
}

// Topics lists topics that have subscribers.
func (k *Kernel) Topics() []TopicInfo {
	t := &k.topics
	t.mu.RLock()
	out := make([]TopicInfo, 0, len(t.topics))
	for n, tp := range t.topics {
		out = append(out, TopicInfo{Name: n, Subscribers: len(tp.procs) + len(tp.sinks)})
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
