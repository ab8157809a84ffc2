package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

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
	fs := newFlagSet("export")
	dbPath := fs.String("db", defaultDB, "results database `file`")
	exp := fs.String("experiment", "", "only runs of the experiment `NAME`")
	format := fs.String("format", "csv", "output `format`: csv, json or md")
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(c.Stdout, fs, exportUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("export: unexpected argument %q (usage: runner export [--experiment NAME] --format csv|json|md)", pos[0])
	}
	var write func(io.Writer, []string, [][]any) error
	switch *format {
	case "csv":
		write = writeCSV
	case "json":
		write = writeJSON
	case "md":
		write = writeMarkdown
	default:
		return usageErrorf("export: --format %q: unknown format (valid: csv, json, md)", *format)
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

// cellText renders an exported value for CSV and markdown: "" for nil,
// shortest exact numbers.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func writeCSV(w io.Writer, cols []string, rows [][]any) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(cols); err != nil {
		return err
	}
	rec := make([]string, len(cols))
	for _, r := range rows {
		for i, v := range r {
			rec[i] = cellText(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeJSON writes an array of objects whose keys keep the column order.
func writeJSON(w io.Writer, cols []string, rows [][]any) error {
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		k, err := json.Marshal(c)
		if err != nil {
			return err
		}
		keys[i] = k
	}
	var b strings.Builder
	b.WriteString("[")
	for ri, r := range rows {
		if ri > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for i, v := range r {
			if i > 0 {
				b.WriteString(", ")
			}
			if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				v = nil
			}
			val, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("column %s: %w", cols[i], err)
			}
			b.Write(keys[i])
			b.WriteString(": ")
			b.Write(val)
		}
		b.WriteString("}")
	}
	if len(rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdown writes a GitHub-flavoured markdown table.
func writeMarkdown(w io.Writer, cols []string, rows [][]any) error {
	esc := func(s string) string {
		s = strings.ReplaceAll(s, `\`, `\\`)
		s = strings.ReplaceAll(s, "|", `\|`)
		return strings.ReplaceAll(s, "\n", " ")
	}
	line := func(cells []string) error {
		_, err := io.WriteString(w, "| "+strings.Join(cells, " | ")+" |\n")
		return err
	}
	head := make([]string, len(cols))
	sep := make([]string, len(cols))
	for i, c := range cols {
		head[i], sep[i] = esc(c), "---"
	}
	if err := line(head); err != nil {
		return err
	}
	if err := line(sep); err != nil {
		return err
	}
	cells := make([]string, len(cols))
	for _, r := range rows {
		for i, v := range r {
			cells[i] = esc(cellText(v))
		}
		if err := line(cells); err != nil {
			return err
		}
	}
	return nil
}
