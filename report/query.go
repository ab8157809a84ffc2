package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/report/table"
	"github.com/simclr-ablate/simclr-ablate/store"
)

type queryCommand struct {
	m *Main
}

var formats = []string{"table", "csv", "json"}

// Run runs `report query`.
func (c *queryCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("query", "report query 'SQL' [--db results/results.db] [--format table|csv|json]\n\n"+
		"  Runs one read-only statement (SELECT, WITH, VALUES or EXPLAIN). 'SQL' may be - to read it from stdin.\n"+
		"  The tables and the run_summary view are described in store/schema.md.", c.m.Stdout)
	dbPath := fs.String("db", "results/results.db", "results database to read (opened read-only)")
	format := fs.String("format", "table", "output format: table, csv or json")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError("query", err)
	}
	switch {
	case len(pos) == 0:
		return &usageError{msg: "query: missing the SQL statement", hint: `e.g. report query 'SELECT label, linear_f1 FROM run_summary'`}
	case len(pos) > 1:
		return &usageError{msg: fmt.Sprintf("query: %d arguments, want one SQL statement", len(pos)), hint: "quote the statement"}
	}
	valid := false
	for _, f := range formats {
		valid = valid || *format == f
	}
	if !valid {
		return &usageError{msg: fmt.Sprintf("query: unknown --format %q", *format), hint: "valid: " + strings.Join(formats, ", ")}
	}
	sql := pos[0]
	if sql == "-" {
		b, err := io.ReadAll(c.m.Stdin)
		if err != nil {
			return fmt.Errorf("query: read stdin: %w", err)
		}
		sql = string(b)
	}

	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	cols, rows, err := db.Query(ctx, sql)
	if err != nil {
		return err
	}
	switch *format {
	case "csv":
		return table.WriteCSV(c.m.Stdout, cols, rows)
	case "json":
		return table.WriteJSON(c.m.Stdout, cols, rows)
	}
	return writeTable(c.m.Stdout, cols, rows)
}

func writeTable(w io.Writer, cols []string, rows [][]any) error {
	t := table.New(cols...)
	for i, r := range rows {
		cells := make([]string, len(r))
		for j, v := range r {
			cells[j] = table.Value(v, "NULL")
			switch v.(type) {
			case int64, float64:
				if i == 0 {
					t.SetAlign(j, table.Right)
				}
			}
		}
		t.AddRow(cells...)
	}
	if _, err := io.WriteString(w, t.Text()); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%s)\n", pluralRows(len(rows)))
	return err
}

func pluralRows(n int) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}
