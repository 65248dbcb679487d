package daemon

import (
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/metrics"
)

// registerMetrics exposes the kernel's numbers at /metrics.
func (d *Daemon) registerMetrics() {
	k := d.kernel
	r := d.metrics
	must := func(err error) {
		if err != nil {
			d.log.Error("metric registration", "err", err)
		}
	}
	must(r.Value("weftos_uptime_seconds", "Seconds since the kernel booted.", metrics.Gauge, func() float64 { return k.Uptime().Seconds() }))
	must(r.Register("weftos_processes", "Live processes by state.", metrics.Gauge, func() []metrics.Sample {
		counts := map[kernel.State]int{}
		for _, p := range k.PS(false) {
			counts[p.State]++
		}
		var out []metrics.Sample
		for _, s := range []kernel.State{kernel.StateStarting, kernel.StateRunning, kernel.StateSuspended, kernel.StateStopping} {
			out = append(out, metrics.Sample{Labels: map[string]string{"state": s.String()}, Value: float64(counts[s])})
		}
		return out
	}))
	must(r.Register("weftos_process_messages_sent_total", "Messages sent, summed over live processes.", metrics.Counter, func() []metrics.Sample {
		var n uint64
		for _, p := range k.PS(false) {
			n += p.MsgsSent
		}
		return []metrics.Sample{{Value: float64(n)}}
	}))
	must(r.Register("weftos_dead_letters_total", "Messages that could not be delivered.", metrics.Counter, func() []metrics.Sample {
		total, _ := k.DLQStats()
		return []metrics.Sample{{Value: float64(total)}}
	}))
	must(r.Register("weftos_services", "Registered services by health.", metrics.Gauge, func() []metrics.Sample {
		counts := map[kernel.Health]int{}
		for _, s := range k.Services() {
			counts[s.Health]++
		}
		var out []metrics.Sample
		for _, h := range []kernel.Health{kernel.Healthy, kernel.Degraded, kernel.Down, kernel.Unknown} {
			out = append(out, metrics.Sample{Labels: map[string]string{"health": string(h)}, Value: float64(counts[h])})
		}
		return out
	}))
	must(r.Value("weftos_cron_jobs", "Scheduled cron jobs.", metrics.Gauge, func() float64 { return float64(len(k.CronJobs())) }))
	d.registerOpsMetrics(must)
}
