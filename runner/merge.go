package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// MergeCommand is `runner merge`: it folds shard databases into one.
type MergeCommand struct {
	Stdout io.Writer
	Stderr io.Writer
}

const mergeUsage = `
Usage: runner merge SHARD.db... [--into results/results.db] [flags]

Copies the experiments, runs, earlier attempts, params, metrics,
evaluations and artifacts (kept encoders: their files are copied from
beside the shard to beside the target, checked against their SHA-256) of
each SHARD.db (written by runner run --shard, or any results database)
into the --into database, one transaction a shard. The
shards are only read; one of an older schema version is merged from a
migrated copy. A run is its experiment + config hash + seed, so merging a
shard again adds nothing.

A cell in both keeps one row: if one attempt is the other's earlier one
(a resumed or rerun cell), the later; else a finished attempt over an
unfinished one, and between two of the same kind the one that ended last.
The other attempt is kept in run_attempts.

A shard that is being written (a running cell with a heartbeat younger
than --stale-after) is refused unless --partial; running cells are never
copied. Cells left unfinished (failed, interrupted, running) are listed.
After the last shard, PRAGMA integrity_check runs on the result.

The target is opened in WAL mode, or with the rollback journal when it is
on a network file system (merge is then its only writer).
`

// Run runs the command.
func (c *MergeCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "merge", mergeUsage, c.Stdout)
	into := fs.String("into", defaultDB, "the results database `file` to merge into (created if missing)")
	partial := fs.Bool("partial", false, "merge shards that are still being written (their running cells are left out)")
	allowMissing := fs.Bool("allow-missing", false, "skip (and list) shard files that do not exist, e.g. of tasks that never started")
	staleAfter := fs.Duration("stale-after", store.DefaultStaleAfter, "a running cell whose heartbeat is younger than this `duration` means its shard is being written")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return cli.Usagef("merge: no shard databases given (usage: runner merge SHARD.db... [--into FILE])")
	case *staleAfter < time.Second:
		return cli.Usagef("merge: --stale-after %v: must be at least 1s", *staleAfter)
	}
	if fi, err := os.Stat(*into); err == nil && fi.IsDir() {
		return cli.BadInput(fmt.Errorf("merge: --into %s is a directory, not a results database file", *into))
	}
	var sources, missing []string
	for _, p := range pos {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist) && *allowMissing:
			missing = append(missing, p)
		case err != nil:
			return cli.BadInput(fmt.Errorf("merge: %w", err))
		case fi.IsDir():
			return cli.BadInput(fmt.Errorf("merge: %s is a directory, not a shard database (give the files, e.g. %s/*.db)", p, strings.TrimRight(p, "/")))
		default:
			sources = append(sources, p)
		}
	}

	db, err := openMergeTarget(*into)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, p := range missing {
		fmt.Fprintf(c.Stdout, "%s: missing, skipped (its task never wrote it)\n", p)
	}
	var failed []string
	total := 0
	for _, src := range sources {
		rep, err := db.Merge(ctx, src, store.MergeOptions{Partial: *partial, StaleAfter: *staleAfter})
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "%s: not merged: %s\n", src, cli.OneLine(strings.TrimPrefix(err.Error(), "merge "+src+" into "+*into+": ")))
			failed = append(failed, src)
			continue
		}
		total++
		writeMergeReport(c.Stdout, rep)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		return err
	}
	n, err := countRuns(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%s: %d %s after merging %d of %d %s; integrity ok\n", *into, n, plural(n, "run", "runs"),
		total, len(pos), plural(len(pos), "shard", "shards"))
	if len(failed) > 0 {
		return fmt.Errorf("merge: %d %s not merged (above): %s", len(failed), plural(len(failed), "shard", "shards"), strings.Join(failed, ", "))
	}
	return nil
}

// openMergeTarget opens the merge's target: in WAL mode, or with the
// rollback journal on a network file system, where merge is the one
// writer.
func openMergeTarget(path string) (*store.DB, error) {
	db, err := store.Open(path)
	var ne *store.NetworkFSError
	if errors.As(err, &ne) {
		return store.OpenWith(path, store.Options{Rollback: true})
	}
	return db, err
}

func writeMergeReport(w io.Writer, r *store.MergeReport) {
	fmt.Fprintf(w, "%s: %d added, %d replaced, %d kept, %d already merged", r.Source, r.Added, r.Replaced, r.Kept, r.Unchanged)
	if r.Attempts > 0 {
		fmt.Fprintf(w, ", %d earlier %s recorded", r.Attempts, plural(r.Attempts, "attempt", "attempts"))
	}
	if r.Skipped > 0 {
		fmt.Fprintf(w, ", %d running left out", r.Skipped)
	}
	if r.MigratedFrom > 0 {
		fmt.Fprintf(w, " (schema version %d, merged from a migrated copy)", r.MigratedFrom)
	}
	fmt.Fprintln(w)
	for _, u := range r.Unfinished {
		what := u.Status
		if !u.Merged {
			what += ", not merged"
			if !u.Heartbeat.IsZero() {
				what += fmt.Sprintf(" (last heartbeat %s)", u.Heartbeat.UTC().Format(time.RFC3339))
			}
		}
		fmt.Fprintf(w, "  unfinished: %s #%d %s (seed %d, config %s): %s\n", u.Experiment, u.GridIndex, u.Label, u.Seed, u.ConfigHash, what)
	}
}

// countRuns is the number of runs in the database.
func countRuns(ctx context.Context, db *store.DB) (int, error) {
	_, rows, err := db.Query(ctx, `SELECT count(*) FROM runs`)
	if err != nil {
		return 0, err
	}
	n, _ := rows[0][0].(int64)
	return int(n), nil
}
