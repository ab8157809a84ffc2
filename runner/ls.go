package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// LsCommand is `runner ls`: the recorded runs, one line each, newest
// first.
type LsCommand struct {
	Stdout io.Writer
	Stderr io.Writer
}

const lsUsage = `
Usage: runner ls [flags]

Lists the runs in the results database, one a line, newest (latest
started) first: id, experiment, label, seed, status, attempt, start time
(UTC), duration, linear evaluation F1 and accuracy (on h, else pixels),
fine-tuning F1 (largest label fraction), and the first line of the error.

--where filters with AND, OR, NOT and parentheses over run columns
(linear_f1, linear_acc, finetune_f1, status, seed, label, experiment,
duration_s, ...) and settings (head, batch_size, temperature, augment,
...); strings in single quotes, lists as JSON text:

	runner ls --where "head = 'nonlinear' and linear_f1 > 0.8"
	runner ls --where "augment like '%color%' or batch_size >= 256"
`

// Run runs the command.
func (c *LsCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "ls", lsUsage, c.Stdout)
	dbPath := fs.String("db", defaultDB, "results database `file`")
	exp := fs.String("experiment", "", "only runs of the experiment `NAME`")
	status := fs.String("status", "", "only runs with this `status`: "+strings.Join(store.Statuses, ", "))
	where := fs.String("where", "", "only runs matching the filter `EXPR` (see above)")
	limit := fs.Int("n", 0, "at most `N` runs (0: all)")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return cli.Usagef("ls: unexpected argument %q (filters are flags: --experiment, --status, --where)", pos[0])
	case *status != "" && !slices.Contains(store.Statuses, *status):
		return cli.Usagef("ls: --status %q: unknown status (valid: %s)", *status, strings.Join(store.Statuses, ", "))
	case *limit < 0:
		return cli.Usagef("ls: -n %d: must be positive", *limit)
	}
	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.ListRuns(ctx, store.RunFilter{Experiment: *exp, Status: *status, Where: *where, Limit: *limit})
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintln(c.Stderr, "runner: no runs match")
		return nil
	}
	return writeRuns(c.Stdout, runs)
}

// writeRuns writes the runs as aligned columns; the error column only
// when a run has an error.
func writeRuns(w io.Writer, runs []store.RunRow) error {
	withErr := slices.ContainsFunc(runs, func(r store.RunRow) bool { return r.Error != "" })
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	head := "ID\tEXPERIMENT\tLABEL\tSEED\tSTATUS\tATTEMPT\tSTARTED\tDURATION\tLINEAR_F1\tLINEAR_ACC\tFINETUNE_F1"
	if withErr {
		head += "\tERROR"
	}
	fmt.Fprintln(tw, head)
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s",
			r.ID, r.Experiment, truncate(r.Label, 40), r.Seed, r.Status, r.Attempt,
			formatTime(r.StartedAt), formatSeconds(r.Duration), formatScore(r.LinearF1), formatScore(r.LinearAcc),
			formatScore(r.FinetuneF1))
		if withErr {
			fmt.Fprintf(tw, "\t%s", truncate(r.Error, 60))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// formatTime is a UTC time to the second, or "-".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// formatSeconds is a duration in seconds with one decimal, or "-".
func formatSeconds(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// formatScore is a score with four decimals, or "-".
func formatScore(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}
