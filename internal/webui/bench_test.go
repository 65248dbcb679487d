package webui_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// BenchmarkOverviewFirstPaint loads the overview in headless Chromium from
// a daemon on loopback, logged in, and reports the browser's own figures:
// first contentful paint and the time until the overview shows the node's
// data (status, chain, first metrics sample), both from navigation start.
func BenchmarkOverviewFirstPaint(b *testing.B) {
	f := newFixture(b)
	res, err := f.c.UILogin(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	f.do(chromedp.Navigate(res.URL), chromedp.WaitVisible(chromedp.CSS(`main[data-page="overview"]`)))
	var fcp, data float64
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n++ // a new URL each time: a full page load, not a same-document hash change
		f.do(chromedp.Navigate(f.origin+"/?r="+strconv.Itoa(n)+"#/overview"), chromedp.WaitVisible(chromedp.CSS(`main[data-page="overview"]`)))
		got := f.eval(`(() => {
			const p = performance.getEntriesByName('first-contentful-paint')[0];
			const m = performance.getEntriesByName('overview-data')[0];
			return (p ? p.startTime : -1) + ' ' + (m ? m.startTime : -1);
		})()`)
		parts := strings.Fields(got)
		p, _ := strconv.ParseFloat(parts[0], 64)
		d, _ := strconv.ParseFloat(parts[1], 64)
		if p < 0 || d < 0 {
			b.Fatalf("no paint or data mark: %q", got)
		}
		fcp += p
		data += d
	}
	b.ReportMetric(fcp/float64(n), "fcp-ms")
	b.ReportMetric(data/float64(n), "overview-data-ms")
}
