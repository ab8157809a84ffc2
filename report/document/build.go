package document

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/store"
)

// Options select what Build reports.
type Options struct {
	// DBPath is shown in the provenance header as given (the path the
	// user typed, not made absolute, so that reports are comparable).
	DBPath string
	// Experiments names the experiments to report, in this order; empty
	// means every experiment that has runs, in the order they were created.
	Experiments []string
}

// File is a figure of the report: its file name (no directory) and PNG
// bytes.
type File struct {
	Name string
	Data []byte
}

// Output is a built report: the text of report.md and the figures it
// links to, in the order it links them.
type Output struct {
	Markdown []byte
	Figures  []File
}

// Errors Build returns (wrapped, with the counts and what to do).
var (
	// ErrNoRuns: the selected experiments have no runs (an empty database).
	ErrNoRuns = errors.New("no runs to report")
	// ErrNoFinished: runs exist but none finished (all failed,
	// interrupted or still running).
	ErrNoFinished = errors.New("no finished run to report")
)

// experiment is everything the report says about one experiment.
type experiment struct {
	Info     store.Experiment
	Runs     []store.RunDetail
	Kinds    []evalKind // F1 table columns
	Headline evalKind   // the kind rows are ranked by: linear if any, else the first
	Rows     []*row
	Best     *row // best row by headline F1, nil when nothing finished
	Slug     string
	Varies   []string // settings that differ between runs (seed aside)

	Pairwise *pairwise
	Heads    *heads
	Scaling  *scaling
	Findings [3][]verdict
}

// Build reads the selected experiments of db and returns report.md and
// its figures. Unknown experiment names are an error wrapping
// store.ErrNotFound; a selection without runs wraps ErrNoRuns, one
// without a finished run ErrNoFinished.
func Build(ctx context.Context, db *store.DB, opts Options) (*Output, error) {
	all, err := db.ListExperiments(ctx)
	if err != nil {
		return nil, err
	}
	selected, err := selectExperiments(all, opts.Experiments)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.DBPath, err)
	}
	var exps []*experiment
	runs, finished := 0, 0
	for _, info := range selected {
		rs, err := db.ReportRuns(ctx, info.Name)
		if err != nil {
			return nil, err
		}
		if len(rs) == 0 {
			continue
		}
		e := newExperiment(info, rs)
		runs += len(rs)
		for _, r := range rs {
			if r.Status == store.StatusFinished {
				finished++
			}
		}
		exps = append(exps, e)
	}
	if runs == 0 {
		return nil, fmt.Errorf("%s: %w: it holds %s (run `runner run GRID.toml --db %s` first)",
			opts.DBPath, ErrNoRuns, experimentCount(len(all)), opts.DBPath)
	}
	if finished == 0 {
		return nil, fmt.Errorf("%s: %w: %d runs, %s; see why with `runner ls --db %s --status failed` and `runner show ID`",
			opts.DBPath, ErrNoFinished, runs, statusSummary(exps), opts.DBPath)
	}
	slugs := map[string]int{}
	for _, e := range exps {
		e.Slug = uniqueSlug(slugs, e.Info.Name)
	}
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{exps: exps, dbPath: opts.DBPath, schema: version}
	if err := w.write(); err != nil {
		return nil, err
	}
	return &Output{Markdown: []byte(w.b.String()), Figures: w.figures}, nil
}

func experimentCount(n int) string {
	if n == 1 {
		return "1 experiment without runs"
	}
	return fmt.Sprintf("%d experiments, none with runs", n)
}

func statusSummary(exps []*experiment) string {
	counts := map[string]int{}
	for _, e := range exps {
		for _, r := range e.Runs {
			counts[r.Status]++
		}
	}
	return countsText(counts)
}

// selectExperiments returns the named experiments in the order named
// (each once), or every experiment with runs in the order they were
// created (the order they were run in).
func selectExperiments(all []store.Experiment, names []string) ([]store.Experiment, error) {
	if len(names) == 0 {
		var out []store.Experiment
		for _, e := range all {
			if e.Runs > 0 {
				out = append(out, e)
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
				return out[i].CreatedAt.Before(out[j].CreatedAt)
			}
			return out[i].ID < out[j].ID
		})
		return out, nil
	}
	byName := map[string]store.Experiment{}
	known := make([]string, 0, len(all))
	for _, e := range all {
		byName[e.Name] = e
		known = append(known, e.Name)
	}
	seen := map[string]bool{}
	var out []store.Experiment
	for _, n := range names {
		e, ok := byName[n]
		if !ok {
			k := strings.Join(known, ", ")
			if k == "" {
				k = "none"
			}
			return nil, fmt.Errorf("experiment %q: %w (known: %s)", n, store.ErrNotFound, k)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, e)
		}
	}
	return out, nil
}

func newExperiment(info store.Experiment, runs []store.RunDetail) *experiment {
	e := &experiment{Info: info, Runs: runs}
	e.Kinds = evalKinds(runs)
	if len(e.Kinds) > 0 {
		e.Headline = e.Kinds[0]
	}
	e.Rows = groupRows(runs, e.Kinds)
	for _, rw := range e.Rows {
		s := rw.headline(e.Headline)
		if s.N > 0 && (e.Best == nil || s.Mean > e.Best.headline(e.Headline).Mean) {
			e.Best = rw
		}
	}
	e.Varies = varyingSettings(runs)
	if len(e.Kinds) > 0 {
		e.Pairwise = findPairwise(e.Rows, e.Headline)
		e.Heads = findHeads(e.Rows, e.Headline)
		e.Scaling = findScaling(e.Rows, e.Headline)
	}
	e.Findings = [3][]verdict{findings1(e), findings2(e), findings3(e)}
	return e
}

// varyingSettings lists the settings whose value differs between runs,
// seed and tags (params that are not settings) aside, sorted.
func varyingSettings(runs []store.RunDetail) []string {
	first := map[string]string{}
	vary := map[string]bool{}
	for i, r := range runs {
		for _, p := range r.Params {
			if p.Key == "seed" || !isSetting(p.Key) {
				continue
			}
			if i == 0 {
				first[p.Key] = p.Value
			} else if v, ok := first[p.Key]; !ok || v != p.Value {
				vary[p.Key] = true
			}
		}
	}
	out := make([]string, 0, len(vary))
	for k := range vary {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// uniqueSlug turns an experiment name into a file-name prefix of
// lowercase letters, digits, "-" and "_", unique among those handed out.
func uniqueSlug(used map[string]int, name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		s = "experiment"
	}
	used[s]++
	if n := used[s]; n > 1 {
		s = fmt.Sprintf("%s-%d", s, n)
		used[s]++
	}
	return s
}

// formatFloat prints a score or NaN as "—".
func formatFloat(x float64) string { return finiteOr(x, "—") }
