package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/report/table"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// ExportCommand is `runner export`: one row a run, every setting and
// score a column, as CSV, JSON or a markdown table on stdout.
type ExportCommand struct {
	Stdout io.Writer
	Stderr io.Writer
}

const exportUsage = `
Usage: runner export [flags] > FILE

Writes one row a run of the experiment (of every experiment without
--experiment), in grid order: run columns (run_id, experiment, label,
status, seed, ..., linear_f1, finetune_f1), then every setting as a column
(and the cells' tags, such as pair_first and pair_second), then one
accuracy and one F1 column per kind of evaluation, named
<protocol>_<features>_<label fraction>_acc|_f1.

Formats: csv (RFC 4180, a header row, empty cells for missing values),
json (an array of objects, keys in column order, null for missing
values), md (a markdown table).
`

// Run runs the command.
func (c *ExportCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "export", exportUsage, c.Stdout)
	dbPath := fs.String("db", defaultDB, "results database `file`")
	exp := fs.String("experiment", "", "only runs of the experiment `NAME`")
	format := fs.String("format", "csv", "output `format`: csv, json or md")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("export: unexpected argument %q (usage: runner export [--experiment NAME] --format csv|json|md)", pos[0])
	}
	var write func(io.Writer, []string, [][]any) error
	switch *format {
	case "csv":
		write = table.WriteCSV
	case "json":
		write = table.WriteJSON
	case "md":
		write = table.WriteMarkdown
	default:
		return cli.Usagef("export: --format %q: unknown format (valid: csv, json, md)", *format)
	}
	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	cols, rows, err := db.ExportRuns(ctx, *exp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(c.Stdout)
	if err := write(bw, cols, rows); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return bw.Flush()
}
