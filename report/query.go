package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/report/table"
	"github.com/simclr-ablate/simclr-ablate/store"
)

type queryCommand struct {
	m *Main
}

var formats = []string{"table", "csv", "json"}

const queryUsage = `Usage:
  report query 'SQL' [--db results/results.db] [--format table|csv|json]

  Runs one read-only statement (SELECT, WITH, VALUES or EXPLAIN). 'SQL' may be - to read it from stdin.
  The tables and the run_summary view are described in store/schema.md.
`

// Run runs `report query`.
func (c *queryCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("report", "query", queryUsage, c.m.Stdout)
	dbPath := fs.String("db", "results/results.db", "results database to read (opened read-only)")
	format := fs.String("format", "table", "output format: table, csv or json")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return cli.Usagef("query: missing the SQL statement (e.g. report query 'SELECT label, linear_f1 FROM run_summary')")
	case len(pos) > 1:
		return cli.Usagef("query: %d arguments, want one SQL statement (%s)", len(pos), extraArgsHint(pos))
	}
	valid := false
	for _, f := range formats {
		valid = valid || *format == f
	}
	if !valid {
		return cli.Usagef("query: unknown --format %q (valid: %s)", *format, strings.Join(formats, ", "))
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

// extraArgsHint is the hint for more arguments than one statement. An
// argument that looks like a flag can only be one because it came after
// "--" (report query 'SQL' -- --db x): say so, since the flag was not
// used.
func extraArgsHint(args []string) string {
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			return fmt.Sprintf("quote the statement; %q came after -- so it is an argument, not a flag", a)
		}
	}
	return "quote the statement"
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
