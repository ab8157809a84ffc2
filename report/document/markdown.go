package document

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/simclr-ablate/simclr-ablate/report/stats"
	"github.com/simclr-ablate/simclr-ablate/report/table"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// writer assembles report.md and collects its figures.
type writer struct {
	exps    []*experiment
	dbPath  string
	schema  int
	b       strings.Builder
	figures []File
}

func (w *writer) p(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
}

func (w *writer) write() error {
	w.header()
	w.howToRead()
	w.findings()
	for _, e := range w.exps {
		if err := w.experiment(e); err != nil {
			return fmt.Errorf("experiment %q: %w", e.Info.Name, err)
		}
	}
	return nil
}

const timeFormat = "2006-01-02 15:04 UTC"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeFormat)
}

// header writes the title, provenance and contents.
func (w *writer) header() {
	w.p("# SimCLR ablation report\n\n")
	var all []*store.RunDetail
	for _, e := range w.exps {
		for i := range e.Runs {
			all = append(all, &e.Runs[i])
		}
	}
	counts := map[string]int{}
	var first, last time.Time
	var compute time.Duration
	commits, hosts, datasets := counter{}, counter{}, counter{}
	for _, r := range all {
		counts[r.Status]++
		if !r.StartedAt.IsZero() && (first.IsZero() || r.StartedAt.Before(first)) {
			first = r.StartedAt
		}
		end := r.EndedAt
		if end.IsZero() {
			end = r.HeartbeatAt
		}
		if end.After(last) {
			last = end
		}
		if r.Status == store.StatusFinished {
			compute += r.Duration
		}
		commit := r.Provenance.GitCommit
		if commit == "" {
			commit = "unknown"
		} else if len(commit) > 12 {
			commit = commit[:12]
		}
		c := table.Code(commit)
		if r.Provenance.GitDirty {
			c += " (uncommitted changes)"
		}
		commits.add(c)
		host := r.Provenance.Host
		if host == "" {
			host = "unknown host"
		}
		hosts.add(fmt.Sprintf("%s (%s, GOMAXPROCS %d)", table.Code(host), orUnknown(r.Provenance.GoVersion), r.Provenance.GOMAXPROCS))
		ds := r.Config.Dataset
		if r.DatasetChecksum != "" {
			sum := r.DatasetChecksum
			if len(sum) > 12 {
				sum = sum[:12] + "…"
			}
			ds += " (checksum " + table.Code(sum) + ")"
		}
		if r.Status == store.StatusFinished {
			datasets.add(ds)
		}
	}
	var names []string
	for _, e := range w.exps {
		names = append(names, table.Code(e.Info.Name))
	}
	w.p("- **Database:** %s (schema version %d)\n", table.Code(w.dbPath), w.schema)
	w.p("- **Experiments:** %d: %s\n", len(w.exps), strings.Join(names, ", "))
	w.p("- **Runs:** %d: %s\n", len(all), countsText(counts))
	w.p("- **Dates:** first run started %s, last activity %s\n", formatTime(first), formatTime(last))
	w.p("- **Compute:** %s of wall time in finished runs\n", formatDuration(compute))
	w.p("- **Git commits:** %s\n", commits.String())
	w.p("- **Machines:** %s\n", hosts.String())
	if len(datasets) > 0 {
		w.p("- **Datasets:** %s\n", datasets.String())
	}
	w.p("\nContents: [How to read this](#how-to-read-this) · [Findings](#findings)")
	for _, e := range w.exps {
		w.p(" · [%s](#%s)", table.Escape(e.Info.Name), anchor("Experiment "+e.Info.Name))
	}
	w.p("\n\n")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown Go"
	}
	return s
}

// statusOrder is the order statuses are counted in: finished first.
var statusOrder = []string{store.StatusFinished, store.StatusFailed, store.StatusInterrupted, store.StatusRunning, store.StatusQueued}

func countsText(counts map[string]int) string {
	var parts []string
	for _, s := range statusOrder {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func formatDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= time.Minute:
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// counter counts distinct strings and prints them by decreasing count,
// then by text: "`abc` (12 runs), `def` (1 run)".
type counter map[string]int

func (c counter) add(s string) { c[s]++ }

func (c counter) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c[keys[i]] != c[keys[j]] {
			return c[keys[i]] > c[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %s", k, plural(c[k], "run"))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// anchor is GitHub's heading anchor: lowercase, spaces to "-", other
// punctuation (but "-" and "_") dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (w *writer) howToRead() {
	w.p("## How to read this\n\n")
	w.p("- **Scores** are measured on the test split: F1-Score is the macro-averaged F1 (0–1), Accuracy the fraction of test images classified correctly. ")
	w.p("*Linear* is linear evaluation (a logistic regression on the frozen encoder's features h; on the pixels for the raw-pixels baseline); *fine-tune p%%* trains the whole network on p%% of the labels.\n")
	w.p("- **0.812 ± 0.011 (n=3)** is the mean ± the sample standard deviation (n − 1 in the denominator) over the n seeds of a row that finished. Failed, interrupted and unfinished runs are not in the means; they are counted in the tables and listed at the end of each experiment.\n")
	w.p("- **Significance.** Each mean has a 95%% interval, mean ± t(0.975, n − 1) · std / √n (Student's t). Two rows differ significantly only when their intervals do not overlap; with one seed nothing is significant. ")
	w.p("Non-overlap is a conservative test: differences it calls *not significant* may still be real, and more seeds would tell.\n")
	w.p("- **Rows** are the cells of a grid, one per label; seeds are repeats of a row. The best row (highest mean F1 of the first score column) is in **bold**; baselines (raw pixels, random-init encoder, supervised) are at the bottom. *Type Augmentation* `a / b` means the two views use different pipelines (protocol one-branch, below).\n")
	w.p("- **Protocols.** *one-branch*: the two views use different pipelines, as in the SimCLR paper's Figure 5 (the transformations under test on one branch after a crop, the other branch only cropped); *both*: SimCLR's training recipe, the same random pipeline on both branches. Finding 1's verdicts and the pairwise heat maps name the protocol of their cells.\n")
	w.p("- **Findings** below compare means; *yes*/*no* says whether the paper's claim held in these runs, and the note says whether the difference behind it is significant by the rule above.\n\n")
}

func (w *writer) findings() {
	w.p("## Findings\n\n")
	w.p("The SimCLR paper's three findings (Chen et al., 2020), checked against these runs; the numbers are F1-Scores of the first score column of each experiment's table, and each verdict's evidence names that score (for Finding 1, also the augmentation protocol).\n\n")
	all := allFindings(w.exps)
	for i, vs := range all {
		w.p("### %s\n\n", findingTitles[i])
		t := table.New("Claim", "Experiment", "Held?", "Evidence")
		for _, v := range vs {
			t.AddRow(table.Escape(v.Claim), experimentLink(v.Experiment), table.Escape(v.Outcome()), table.Escape(v.Evidence))
		}
		w.p("%s\n", t.Markdown())
	}
	w.baselinesTable()
}

func (w *writer) experiment(e *experiment) error {
	w.p("## Experiment %s\n\n", table.Escape(e.Info.Name))
	if d := strings.TrimSpace(e.Info.Description); d != "" {
		w.p("> %s\n\n", strings.ReplaceAll(table.Escape(d), "\n", " "))
	}
	var facts []string
	if e.Info.GridPath != "" {
		facts = append(facts, "grid "+table.Code(e.Info.GridPath))
	}
	counts := map[string]int{}
	for _, r := range e.Runs {
		counts[r.Status]++
	}
	facts = append(facts, fmt.Sprintf("%s: %s", plural(len(e.Runs), "run"), countsText(counts)))
	facts = append(facts, plural(len(e.Rows), "cell"))
	if len(e.Varies) > 0 {
		facts = append(facts, "varies: "+strings.Join(e.Varies, ", "))
	}
	w.p("%s.\n\n", strings.Join(facts, " · "))

	w.f1Table(e)
	if err := w.pairwiseSection(e); err != nil {
		return err
	}
	if err := w.headsSection(e); err != nil {
		return err
	}
	if err := w.scalingSection(e); err != nil {
		return err
	}
	if err := w.curvesSection(e); err != nil {
		return err
	}
	if err := w.confusionSection(e); err != nil {
		return err
	}
	w.unfinished(e)
	return nil
}

// f1Table writes the seed document's table.
func (w *writer) f1Table(e *experiment) {
	w.p("### F1 table\n\n")
	if len(e.Kinds) == 0 {
		w.p("No finished run of this experiment has an evaluation yet.\n\n")
	} else {
		var ds []string
		for _, k := range e.Kinds {
			ds = append(ds, fmt.Sprintf("*%s*: %s", k, k.describe()))
		}
		w.p("Scores: %s. Macro F1 and accuracy on the test split, mean ± std over seeds.\n\n", strings.Join(ds, "; "))
	}
	header := []string{"STT", "Cell", "Model", "Type Augmentation"}
	kinds := e.Kinds
	if len(kinds) == 0 {
		kinds = []evalKind{{}} // the columns stay, every cell "—"
	}
	for _, k := range kinds {
		if len(kinds) == 1 {
			header = append(header, "F1-Score", "Accuracy")
		} else {
			header = append(header, "F1-Score ("+k.String()+")", "Accuracy ("+k.String()+")")
		}
	}
	showRuns := false
	for _, rw := range e.Rows {
		showRuns = showRuns || len(rw.Finished) < len(rw.Runs)
	}
	if showRuns {
		header = append(header, "Runs")
	}
	t := table.New(header...)
	t.SetAlign(0, table.Right)
	for i, rw := range e.Rows {
		cells := []string{itoa(i + 1), table.Escape(rw.Label), table.Escape(modelName(rw.Config)), table.Escape(augmentName(rw.Config))}
		for _, k := range kinds {
			s := rw.Scores[k]
			f1 := s.F1.String()
			if s.F1.N == 0 && len(rw.Finished) == 0 {
				f1 = "— (not finished)"
			}
			cells = append(cells, f1, s.Acc.Short())
		}
		if showRuns {
			r := fmt.Sprintf("%d/%d finished", len(rw.Finished), len(rw.Runs))
			if sc := statusCounts(rw.Runs); sc != "" {
				r += " (" + sc + ")"
			}
			cells = append(cells, r)
		}
		if rw == e.Best {
			for j := range cells {
				cells[j] = table.Bold(cells[j])
			}
		}
		t.AddRow(cells...)
	}
	w.p("%s\n", t.Markdown())
}

func (w *writer) figure(name, alt string, data []byte) {
	w.figures = append(w.figures, File{Name: name, Data: data})
	w.p("![%s](%s)\n\n", table.Escape(alt), name)
}

func pooledNote(pooled bool) string {
	if pooled {
		return " Some cells pool several rows of the table (settings outside this comparison vary too); n counts their runs together."
	}
	return ""
}

// sameN returns the common n of the summaries, or 0 when they differ.
func sameN(ss []stats.Summary) int {
	n := -1
	for _, s := range ss {
		if n == -1 {
			n = s.N
		} else if s.N != n {
			return 0
		}
	}
	return max(n, 0)
}
