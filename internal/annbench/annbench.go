// Package annbench measures the hnsw index on TEXMEX data the way
// ann-benchmarks does: build the index (optionally on several threads),
// compute exact ground truth by brute force when none is given, then for
// each ef run every query single-threaded, one at a time, and report
// recall@k and queries per second. It backs `weave memory bench`.
package annbench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/hnsw"
	"github.com/weftos/weftos/internal/texmex"
)

// ErrConfig reports an invalid benchmark configuration or inconsistent data.
var ErrConfig = errors.New("annbench: invalid config")

// Config describes one benchmark run. Data comes from the paths or, when
// set, from the in-memory fields (which take precedence).
type Config struct {
	BasePath, QueryPath, GTPath string
	Base, Query                 *texmex.Vectors
	GT                          *texmex.Ints

	K              int           // neighbours per query (default 10)
	Efs            []int         // search ef values (default 10,20,40,80,160)
	M              int           // default 16
	EfConstruction int           // default 200
	Threads        int           // build threads (default GOMAXPROCS)
	Distance       hnsw.Distance // default L2
	Seed           uint64        // level-generator seed

	// IndexPath, if set, saves the built index there, loads it back
	// (timed) and runs the searches on the loaded copy.
	IndexPath string
}

// Point is one ef setting's outcome; a list of them marshals to the JSON
// array printed by `weave memory bench --json`.
type Point struct {
	Ef     int     `json:"ef"`
	Recall float64 `json:"recall"`
	QPS    float64 `json:"qps"`
}

// Latency is the per-query latency distribution at one ef.
type Latency struct {
	Ef        int     `json:"ef"`
	P50Micros float64 `json:"p50_us"`
	P99Micros float64 `json:"p99_us"`
	MaxMicros float64 `json:"max_us"`
}

// Result is the outcome of Run.
type Result struct {
	N              int       `json:"n"`
	Dim            int       `json:"dim"`
	Queries        int       `json:"queries"`
	K              int       `json:"k"`
	M              int       `json:"m"`
	EfConstruction int       `json:"ef_construction"`
	Threads        int       `json:"threads"`
	Distance       string    `json:"distance"`
	Kernel         string    `json:"kernel"`
	BuildSeconds   float64   `json:"build_seconds"`
	GTSeconds      float64   `json:"gt_seconds,omitempty"`
	SaveSeconds    float64   `json:"save_seconds,omitempty"`
	LoadSeconds    float64   `json:"load_seconds,omitempty"`
	FileBytes      int64     `json:"file_bytes,omitempty"`
	HeapBytes      int64     `json:"heap_bytes"`   // live heap growth caused by the index
	VectorBytes    int64     `json:"vector_bytes"` // raw vectors: n·dim·4
	GraphBytes     int64     `json:"graph_bytes"`  // adjacency and per-node arrays
	Points         []Point   `json:"points"`
	Latency        []Latency `json:"latency"`
}

func (c *Config) defaults() {
	if c.K == 0 {
		c.K = 10
	}
	if len(c.Efs) == 0 {
		c.Efs = []int{10, 20, 40, 80, 160}
	}
	if c.M == 0 {
		c.M = 16
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = 200
	}
	if c.Threads <= 0 {
		c.Threads = runtime.GOMAXPROCS(0)
	}
}

func (c *Config) load() (base, query texmex.Vectors, gt *texmex.Ints, err error) {
	switch {
	case c.Base != nil:
		base = *c.Base
	case c.BasePath != "":
		if base, err = texmex.LoadVectors(c.BasePath, 0); err != nil {
			return
		}
	default:
		err = fmt.Errorf("%w: no base vectors", ErrConfig)
		return
	}
	switch {
	case c.Query != nil:
		query = *c.Query
	case c.QueryPath != "":
		if query, err = texmex.LoadVectors(c.QueryPath, 0); err != nil {
			return
		}
	default:
		err = fmt.Errorf("%w: no query vectors", ErrConfig)
		return
	}
	switch {
	case c.GT != nil:
		gt = c.GT
	case c.GTPath != "":
		var g texmex.Ints
		if g, err = texmex.LoadInts(c.GTPath, 0); err != nil {
			return
		}
		gt = &g
	}
	if base.Len() == 0 || query.Len() == 0 {
		err = fmt.Errorf("%w: empty base or query set", ErrConfig)
	} else if base.Dim != query.Dim {
		err = fmt.Errorf("%w: base dimension %d, query dimension %d", ErrConfig, base.Dim, query.Dim)
	} else if gt != nil && (gt.Len() < query.Len() || gt.Dim < c.K) {
		err = fmt.Errorf("%w: ground truth has %d rows of %d, need %d rows of ≥ %d", ErrConfig, gt.Len(), gt.Dim, query.Len(), c.K)
	}
	return
}

// Run executes the benchmark. Progress lines go to progress (may be nil).
func Run(ctx context.Context, cfg Config, progress io.Writer) (Result, error) {
	cfg.defaults()
	if progress == nil {
		progress = io.Discard
	}
	for _, ef := range cfg.Efs {
		if ef < 1 || ef > hnsw.MaxEf {
			return Result{}, fmt.Errorf("%w: ef %d", ErrConfig, ef)
		}
	}
	if cfg.K < 1 {
		return Result{}, fmt.Errorf("%w: k %d", ErrConfig, cfg.K)
	}
	base, query, gt, err := cfg.load()
	if err != nil {
		return Result{}, err
	}
	res := Result{
		N: base.Len(), Dim: base.Dim, Queries: query.Len(), K: cfg.K, M: cfg.M,
		EfConstruction: cfg.EfConstruction, Threads: cfg.Threads, Distance: cfg.Distance.String(),
	}

	heapBefore := liveHeap()
	start := time.Now()
	idx, err := Build(ctx, hnsw.Config{
		Dim: base.Dim, Distance: cfg.Distance, M: cfg.M, EfConstruction: cfg.EfConstruction,
		Seed: cfg.Seed, Capacity: base.Len(),
	}, base, cfg.Threads, progress)
	if err != nil {
		return Result{}, err
	}
	res.BuildSeconds = time.Since(start).Seconds()
	res.HeapBytes = int64(liveHeap()) - int64(heapBefore)
	st := idx.Stats()
	res.Kernel = st.Kernel
	res.VectorBytes = int64(base.Len()) * int64(base.Dim) * 4
	res.GraphBytes = st.GraphBytes
	fmt.Fprintf(progress, "build: %d vectors in %.2fs on %d threads (kernel %s)\n", res.N, res.BuildSeconds, cfg.Threads, res.Kernel)

	if cfg.IndexPath != "" {
		if idx, err = saveLoad(idx, cfg.IndexPath, &res, progress); err != nil {
			return Result{}, err
		}
	}

	if gt == nil {
		start = time.Now()
		g, err := GroundTruth(ctx, cfg.Distance, base, query, cfg.K, runtime.GOMAXPROCS(0))
		if err != nil {
			return Result{}, err
		}
		gt = &g
		res.GTSeconds = time.Since(start).Seconds()
		fmt.Fprintf(progress, "ground truth: brute force in %.2fs\n", res.GTSeconds)
	}

	lat := make([]time.Duration, query.Len())
	for _, ef := range cfg.Efs {
		var hits int
		t0 := time.Now()
		for i := range query.Len() {
			if i&255 == 0 {
				if err := ctx.Err(); err != nil {
					return Result{}, err
				}
			}
			q0 := time.Now()
			got, err := idx.SearchWith(query.At(i), cfg.K, hnsw.SearchOptions{Ef: ef})
			lat[i] = time.Since(q0)
			if err != nil {
				return Result{}, fmt.Errorf("annbench: search: %w", err)
			}
			hits += overlap(got, gt.At(i)[:cfg.K])
		}
		elapsed := time.Since(t0).Seconds()
		p := Point{Ef: ef, Recall: float64(hits) / float64(query.Len()*cfg.K), QPS: float64(query.Len()) / elapsed}
		slices.Sort(lat)
		l := Latency{Ef: ef, P50Micros: micros(lat[len(lat)/2]), P99Micros: micros(lat[len(lat)*99/100]), MaxMicros: micros(lat[len(lat)-1])}
		res.Points = append(res.Points, p)
		res.Latency = append(res.Latency, l)
		fmt.Fprintf(progress, "ef=%-4d recall@%d=%.4f qps=%.0f p50=%.0fµs p99=%.0fµs\n", ef, cfg.K, p.Recall, p.QPS, l.P50Micros, l.P99Micros)
	}
	runtime.KeepAlive(idx)
	return res, nil
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func overlap(got []hnsw.Result, want []int32) int {
	n := 0
	for _, g := range got {
		for _, w := range want {
			if uint64(w) == g.Label && w >= 0 {
				n++
				break
			}
		}
	}
	return n
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func saveLoad(idx *hnsw.Index, path string, res *Result, progress io.Writer) (*hnsw.Index, error) {
	t0 := time.Now()
	if err := idx.Save(path); err != nil {
		return nil, err
	}
	res.SaveSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	loaded, err := hnsw.Load(path)
	if err != nil {
		return nil, err
	}
	res.LoadSeconds = time.Since(t0).Seconds()
	if fi, err := statSize(path); err == nil {
		res.FileBytes = fi
	}
	fmt.Fprintf(progress, "save: %.3fs, load: %.3fs (%d bytes)\n", res.SaveSeconds, res.LoadSeconds, res.FileBytes)
	return loaded, nil
}

// Build inserts every vector of base (label = row number) into a new index
// using threads goroutines.
func Build(ctx context.Context, cfg hnsw.Config, base texmex.Vectors, threads int, progress io.Writer) (*hnsw.Index, error) {
	idx, err := hnsw.New(cfg)
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	n := base.Len()
	var (
		mu     sync.Mutex
		next   int
		done   int
		ferr   error
		wg     sync.WaitGroup
		report = max(n/10, 1)
	)
	const batch = 128
	for range max(threads, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if ferr == nil && ctx.Err() != nil {
					ferr = ctx.Err()
				}
				if ferr != nil || next >= n {
					mu.Unlock()
					return
				}
				lo := next
				next = min(next+batch, n)
				hi := next
				mu.Unlock()
				for i := lo; i < hi; i++ {
					if err := idx.Insert(uint64(i), base.At(i)); err != nil {
						mu.Lock()
						ferr = fmt.Errorf("annbench: insert %d: %w", i, err)
						mu.Unlock()
						return
					}
				}
				mu.Lock()
				before := done / report
				done += hi - lo
				if done/report != before {
					fmt.Fprintf(progress, "build: %d/%d\n", done, n)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		return nil, ferr
	}
	return idx, nil
}

// GroundTruth computes the exact k nearest base rows of every query by
// brute force, in parallel over queries.
func GroundTruth(ctx context.Context, d hnsw.Distance, base, query texmex.Vectors, k, workers int) (texmex.Ints, error) {
	if base.Dim != query.Dim || k < 1 {
		return texmex.Ints{}, fmt.Errorf("%w: dimension or k", ErrConfig)
	}
	k = min(k, base.Len())
	if d == hnsw.Cosine {
		base, query = normalized(base), normalized(query)
	}
	f := d.Func()
	out := texmex.Ints{Dim: k, Data: make([]int32, query.Len()*k)}
	var wg sync.WaitGroup
	var next int
	var mu sync.Mutex
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type hit struct {
				d float32
				i int32
			}
			h := make([]hit, 0, k+1)
			for {
				mu.Lock()
				qi := next
				next++
				mu.Unlock()
				if qi >= query.Len() || ctx.Err() != nil {
					return
				}
				q := query.At(qi)
				h = h[:0]
				for i := range base.Len() {
					dist := f(q, base.At(i))
					if len(h) == k && dist >= h[k-1].d {
						continue
					}
					// Insertion into the sorted top-k list.
					j, _ := slices.BinarySearchFunc(h, dist, func(a hit, t float32) int { return cmp.Compare(a.d, t) })
					for j < len(h) && h[j].d == dist {
						j++
					}
					h = slices.Insert(h, j, hit{dist, int32(i)})
					if len(h) > k {
						h = h[:k]
					}
				}
				row := out.At(qi)
				for j, x := range h {
					row[j] = x.i
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return texmex.Ints{}, err
	}
	return out, nil
}

func normalized(v texmex.Vectors) texmex.Vectors {
	c := texmex.Vectors{Dim: v.Dim, Data: slices.Clone(v.Data)}
	for i := range c.Len() {
		hnsw.Normalize(c.At(i))
	}
	return c
}
