package annbench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/weftos/weftos/internal/hnsw"
	"github.com/weftos/weftos/internal/texmex"
)

func statSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Command runs the benchmark command line: `bench` flags (the default) or
// `gen` to write the synthetic clustered set. It is what `weave memory
// bench` delegates to.
//
//	bench --base B.fvecs --query Q.fvecs [--gt G.ivecs] [--k 10] [--ef 10,20,40,80,160]
//	      [--m 16] [--efc 200] [--threads N] [--distance l2] [--index FILE] [--json]
//	gen   --out DIR [--n 100000] [--queries 1000] [--dim 128] [--clusters 1000] [--seed 1]
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "gen" {
		return genCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "bench" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg      Config
		efs      string
		dist     string
		asJSON   bool
		fullJSON bool
	)
	fs.StringVar(&cfg.BasePath, "base", "", "base vectors (.fvecs or .bvecs)")
	fs.StringVar(&cfg.QueryPath, "query", "", "query vectors (.fvecs or .bvecs)")
	fs.StringVar(&cfg.GTPath, "gt", "", "ground truth (.ivecs); computed by brute force if absent")
	fs.IntVar(&cfg.K, "k", 10, "neighbours per query")
	fs.StringVar(&efs, "ef", "10,20,40,80,160", "comma-separated search ef values")
	fs.IntVar(&cfg.M, "m", 16, "HNSW M")
	fs.IntVar(&cfg.EfConstruction, "efc", 200, "HNSW efConstruction")
	fs.IntVar(&cfg.Threads, "threads", 0, "build threads (0: all CPUs)")
	fs.StringVar(&dist, "distance", "l2", "l2, cosine or dot")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "level-generator seed")
	fs.StringVar(&cfg.IndexPath, "index", "", "save the index here, reload it (timed) and search the loaded copy")
	fs.BoolVar(&asJSON, "json", false, `print a JSON array of {"ef","recall","qps"} on stdout`)
	fs.BoolVar(&fullJSON, "json-full", false, "print the whole result as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var err error
	if cfg.Efs, err = parseInts(efs); err != nil {
		return err
	}
	if cfg.Distance, err = hnsw.ParseDistance(dist); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	progress := stdout
	if asJSON || fullJSON {
		progress = stderr
	}
	res, err := Run(ctx, cfg, progress)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	switch {
	case fullJSON:
		return enc.Encode(res)
	case asJSON:
		return enc.Encode(res.Points)
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%w: bad ef list %q", ErrConfig, s)
		}
		out = append(out, v)
	}
	return out, nil
}

func genCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := texmex.DefaultClusterConfig()
	out := fs.String("out", "", "output directory (base.fvecs, query.fvecs)")
	fs.IntVar(&c.N, "n", c.N, "base vectors")
	fs.IntVar(&c.Queries, "queries", c.Queries, "query vectors")
	fs.IntVar(&c.Dim, "dim", c.Dim, "dimension")
	fs.IntVar(&c.Clusters, "clusters", c.Clusters, "Gaussian clusters")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed")
	fs.Float64Var(&c.Sigma, "sigma", c.Sigma, "per-axis std-dev around a centre")
	gtK := fs.Int("gt-k", 100, "also write gt.ivecs with this many exact L2 neighbours per query (0: skip)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if *out == "" {
		return fmt.Errorf("%w: gen needs --out", ErrConfig)
	}
	base, q, err := texmex.GenerateClustered(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := texmex.SaveFvecs(filepath.Join(*out, "base.fvecs"), base); err != nil {
		return err
	}
	if err := texmex.SaveFvecs(filepath.Join(*out, "query.fvecs"), q); err != nil {
		return err
	}
	if *gtK > 0 {
		gt, err := GroundTruth(ctx, hnsw.L2, base, q, *gtK, runtime.GOMAXPROCS(0))
		if err != nil {
			return err
		}
		if err := texmex.SaveIvecs(filepath.Join(*out, "gt.ivecs"), gt); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %d base and %d query vectors of dimension %d to %s\n", base.Len(), q.Len(), c.Dim, *out)
	return nil
}
