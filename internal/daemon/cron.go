package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/schedule"
)

// cronRecord is one persisted cron job in cron.json.
type cronRecord struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Schedule string         `json:"schedule"`
	From     kernel.PID     `json:"from"`
	Target   kernel.Target  `json:"target"`
	Payload  kernel.Payload `json:"payload"`
}

// AddCron implements localapi.Backend: it parses the schedule, adds the
// job to the kernel (which puts it to the gate as cron.add) and persists
// the job list.
func (d *Daemon) AddCron(ctx context.Context, req apitype.CronRequest) (kernel.CronJob, error) {
	s, err := schedule.Parse(req.Schedule)
	if err != nil {
		return kernel.CronJob{}, fmt.Errorf("%w: %v", kernel.ErrInvalid, err)
	}
	d.cronMu.Lock()
	defer d.cronMu.Unlock()
	job, err := d.kernel.AddCron(ctx, kernel.CronSpec{Name: req.Name, Schedule: s, From: req.From, Target: req.Target, Payload: req.Payload})
	if err != nil {
		return kernel.CronJob{}, err
	}
	if err := d.saveCronLocked(); err != nil {
		_ = d.kernel.RemoveCron(context.WithoutCancel(ctx), kernel.KernelPID, job.ID)
		return kernel.CronJob{}, err
	}
	return job, nil
}

// RemoveCron implements localapi.Backend: the operator removes a job
// (governed as cron.remove).
func (d *Daemon) RemoveCron(ctx context.Context, id string) error {
	d.cronMu.Lock()
	defer d.cronMu.Unlock()
	if err := d.kernel.RemoveCron(ctx, kernel.KernelPID, id); err != nil {
		return err
	}
	return d.saveCronLocked()
}

func (d *Daemon) saveCronLocked() error {
	jobs := d.kernel.CronJobs()
	recs := make([]cronRecord, len(jobs))
	for i, j := range jobs {
		recs[i] = cronRecord{ID: j.ID, Name: j.Name, Schedule: j.Schedule, From: j.From, Target: j.Target, Payload: j.Payload}
	}
	b, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFile(filepath.Join(d.home, CronName), append(b, '\n')); err != nil {
		return fmt.Errorf("daemon: saving cron jobs: %w", err)
	}
	return nil
}

// restoreCron re-adds the persisted jobs. Jobs sent from a process (not
// the kernel) cannot be restored, since their sender is gone; they are
// dropped with a warning.
func (d *Daemon) restoreCron() error {
	b, err := os.ReadFile(filepath.Join(d.home, CronName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	var recs []cronRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		return fmt.Errorf("daemon: %s is corrupt: %w", filepath.Join(d.home, CronName), err)
	}
	d.cronMu.Lock()
	defer d.cronMu.Unlock()
	for _, r := range recs {
		s, err := schedule.Parse(r.Schedule)
		if err != nil {
			d.log.Warn("cron job dropped: bad schedule", "id", r.ID, "err", err)
			continue
		}
		if r.From != kernel.KernelPID {
			d.log.Warn("cron job dropped: its sender did not survive the restart", "id", r.ID, "from", r.From)
			continue
		}
		if r.Target.Kind == kernel.TargetProcess {
			// Processes do not survive a restart and PIDs are never
			// reused: the job could only dead-letter.
			d.log.Warn("cron job dropped: its target process did not survive the restart", "id", r.ID, "target", r.Target.String())
			continue
		}
		if _, err := d.kernel.AddCron(context.Background(), kernel.CronSpec{ID: r.ID, Name: r.Name, Schedule: s, From: r.From, Target: r.Target,
			Payload: r.Payload, Restored: true}); err != nil {
			d.log.Warn("cron job dropped", "id", r.ID, "err", err)
		}
	}
	return d.saveCronLocked()
}
