package kernel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Schedule yields a cron job's activation times. Next returns the first
// activation strictly after t, or the zero time when there is none.
type Schedule interface {
	Next(t time.Time) time.Time
	String() string
}

// CronSpec describes a job that sends an IPC message on a schedule.
type CronSpec struct {
	// ID, when set, names the job (for jobs restored at boot); otherwise a
	// random ID is chosen.
	ID       string
	Name     string
	Schedule Schedule
	From     PID // the sender; 0 is the kernel
	Target   Target
	Payload  Payload
	// Restored marks a job the operator created before a restart: it was
	// decided when it was created and is not put to the gate again.
	Restored bool
}

// CronJob describes a scheduled job.
type CronJob struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Schedule  string    `json:"schedule"`
	From      PID       `json:"from"`
	Target    Target    `json:"target"`
	Payload   Payload   `json:"payload"`
	Next      time.Time `json:"next,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	Runs      uint64    `json:"runs"`
	Failures  uint64    `json:"failures"`
	LastError string    `json:"last_error,omitempty"`
}

type cronTable struct {
	mu      sync.Mutex
	jobs    map[string]*cronEntry
	stopped bool
}

type cronEntry struct {
	spec  CronSpec
	job   CronJob
	timer interface{ Stop() bool }
}

func (c *cronTable) init() { c.jobs = make(map[string]*cronEntry) }

// AddCron schedules a job and returns its ID. The job's first run is the
// schedule's first activation after now.
func (k *Kernel) AddCron(ctx context.Context, spec CronSpec) (CronJob, error) {
	if spec.Schedule == nil {
		return CronJob{}, fmt.Errorf("%w: a cron job needs a schedule", ErrInvalid)
	}
	if err := spec.Payload.Validate(); err != nil {
		return CronJob{}, err
	}
	for what, s := range map[string]string{"cron job": spec.Name, "cron job id": spec.ID} {
		if s != "" {
			if err := CheckName(what, s); err != nil {
				return CronJob{}, err
			}
		}
	}
	from, err := k.lookup(spec.From)
	if err != nil {
		return CronJob{}, fmt.Errorf("cron: sender: %w", err)
	}
	now := k.clock.Now()
	next := spec.Schedule.Next(now)
	if next.IsZero() {
		return CronJob{}, fmt.Errorf("%w: schedule %s never fires", ErrInvalid, spec.Schedule)
	}
	req := GateRequest{Action: "cron.add", PID: from.pid, Name: from.name, Caps: from.Capabilities(),
		Context: map[string]string{"schedule": spec.Schedule.String(), "target": spec.Target.String(), "name": spec.Name}}
	if err := k.checkScope(from, from.Capabilities(), spec.Target); err != nil {
		if spec.Restored {
			return CronJob{}, err
		}
		return CronJob{}, k.refused(ctx, req, err)
	}
	var a *act
	if !spec.Restored {
		id, err := k.gate(ctx, req)
		if err != nil {
			return CronJob{}, fmt.Errorf("cron: %w", err)
		}
		a = &act{action: req.Action, id: id, agent: from.name}
	}
	c := &k.cron
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return CronJob{}, ErrClosed
	}
	id := spec.ID
	if id == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		id = "job-" + hex.EncodeToString(b[:])
	}
	if _, dup := c.jobs[id]; dup {
		c.mu.Unlock()
		return CronJob{}, fmt.Errorf("%w: cron job %q exists", ErrInvalid, id)
	}
	if spec.Name == "" {
		spec.Name = id
	}
	e := &cronEntry{spec: spec, job: CronJob{ID: id, Name: spec.Name, Schedule: spec.Schedule.String(), From: spec.From,
		Target: spec.Target, Payload: spec.Payload, Next: next}}
	c.jobs[id] = e
	k.armLocked(e, next.Sub(now))
	job := e.job
	c.mu.Unlock()
	data := map[string]any{"id": id, "name": spec.Name, "schedule": job.Schedule, "target": spec.Target.String()}
	if a != nil {
		data["action"], data["action_id"], data["agent"] = a.action, a.id, a.agent
	} else {
		data["restored"] = true
	}
	k.publish(Event{Kind: EventCronAdd, PID: spec.From, Data: data})
	return job, nil
}

func (k *Kernel) armLocked(e *cronEntry, d time.Duration) {
	id := e.job.ID
	e.timer = k.clock.AfterFunc(d, func() { k.fireCron(id) })
}

func (k *Kernel) fireCron(id string) {
	c := &k.cron
	c.mu.Lock()
	e, ok := c.jobs[id]
	if !ok || c.stopped {
		c.mu.Unlock()
		return
	}
	spec := e.spec
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(k.ctx, 5*time.Second)
	_, err := k.send(ctx, &Envelope{From: spec.From, Target: spec.Target, Payload: spec.Payload, TraceID: "cron:" + id})
	cancel()

	now := k.clock.Now()
	c.mu.Lock()
	if _, still := c.jobs[id]; !still || c.stopped {
		c.mu.Unlock()
		return
	}
	e.job.Runs++
	e.job.Last = now
	e.job.LastError = ""
	if err != nil {
		e.job.Failures++
		e.job.LastError = err.Error()
	}
	next := spec.Schedule.Next(now)
	e.job.Next = next
	if !next.IsZero() {
		k.armLocked(e, next.Sub(now))
	}
	ev := map[string]any{"id": id, "name": spec.Name, "run": e.job.Runs}
	if err != nil {
		ev["error"] = err.Error()
	}
	c.mu.Unlock()
	k.publish(Event{Kind: EventCronFire, PID: spec.From, Data: ev})
}

// RemoveCron cancels a job on behalf of actor: the kernel or the job's
// sender.
// The gate decides "cron.remove" for actor (KernelPID: the operator) first.
func (k *Kernel) RemoveCron(ctx context.Context, actor PID, id string) error {
	from, err := k.lookup(actor)
	if err != nil {
		return fmt.Errorf("cron: %w", err)
	}
	c := &k.cron
	c.mu.Lock()
	e, ok := c.jobs[id]
	var job CronJob
	if ok {
		job = e.job
	}
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownJob, id)
	}
	req := GateRequest{Action: "cron.remove", PID: from.pid, Name: from.name, Caps: from.Capabilities(),
		Context: map[string]string{"id": id, "name": job.Name, "target": job.Target.String()}}
	if actor != KernelPID && actor != job.From {
		return k.refused(ctx, req, fmt.Errorf("%w: process %d may not remove cron job %s of process %d", ErrCapability, actor, id, job.From))
	}
	aid, err := k.gate(ctx, req)
	if err != nil {
		return fmt.Errorf("cron: %w", err)
	}
	c.mu.Lock()
	e, ok = c.jobs[id]
	if ok {
		e.timer.Stop()
		delete(c.jobs, id)
	}
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownJob, id)
	}
	data := map[string]any{"id": id}
	if aid != "" {
		data["action"], data["action_id"], data["agent"] = req.Action, aid, from.name
	}
	k.publish(Event{Kind: EventCronRemove, Data: data})
	return nil
}

// CronJobs lists the scheduled jobs by ID.
func (k *Kernel) CronJobs() []CronJob {
	c := &k.cron
	c.mu.Lock()
	out := make([]CronJob, 0, len(c.jobs))
	for _, e := range c.jobs {
		out = append(out, e.job)
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *cronTable) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for _, e := range c.jobs {
		e.timer.Stop()
	}
}

// cronOwnerExited removes the jobs a process sent or that targeted it
// alone: once it has exited they could only dead-letter forever.
func (k *Kernel) cronOwnerExited(pid PID) {
	c := &k.cron
	c.mu.Lock()
	var gone []string
	for id, e := range c.jobs {
		if e.spec.From == pid || (e.spec.Target.Kind == TargetProcess && e.spec.Target.PID == pid) {
			e.timer.Stop()
			delete(c.jobs, id)
			gone = append(gone, id)
		}
	}
	c.mu.Unlock()
	sort.Strings(gone)
	for _, id := range gone {
		k.publish(Event{Kind: EventCronRemove, Data: map[string]any{"id": id, "reason": fmt.Sprintf("process %d exited", pid)}})
	}
}

// failingCron lists the jobs whose last run failed.
func (k *Kernel) failingCron() []string {
	c := &k.cron
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id, e := range c.jobs {
		if e.job.LastError != "" {
			out = append(out, "cron:"+id)
		}
	}
	sort.Strings(out)
	return out
}
