package main

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

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
		return writeCSV(c.m.Stdout, cols, rows)
	case "json":
		return writeJSON(c.m.Stdout, cols, rows)
	}
	return writeTable(c.m.Stdout, cols, rows)
}

// text renders a value for the table and CSV formats: NULL (table) or ""
// (CSV) for nil, numbers in their shortest exact form, blobs as UTF-8
// text when they are, else as x'hex'.
func text(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return "x'" + hex.EncodeToString(x) + "'"
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func writeTable(w io.Writer, cols []string, rows [][]any) error {
	t := table.New(cols...)
	for i, r := range rows {
		cells := make([]string, len(r))
		for j, v := range r {
			cells[j] = text(v, "NULL")
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

func writeCSV(w io.Writer, cols []string, rows [][]any) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(cols); err != nil {
		return err
	}
	for _, r := range rows {
		rec := make([]string, len(r))
		for j, v := range r {
			rec[j] = text(v, "")
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeJSON writes an array of objects, keys in column order (a repeated
// column name gets a _2, _3 suffix), values as JSON numbers, strings or
// null (non-finite floats too); blobs as text when UTF-8, else hex.
func writeJSON(w io.Writer, cols []string, rows [][]any) error {
	keys := make([][]byte, len(cols))
	seen := map[string]int{}
	for i, c := range cols {
		seen[c]++
		name := c
		if n := seen[c]; n > 1 {
			name = fmt.Sprintf("%s_%d", c, n)
		}
		k, err := json.Marshal(name)
		if err != nil {
			return err
		}
		keys[i] = k
	}
	var b strings.Builder
	b.WriteString("[")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for j, v := range r {
			if j > 0 {
				b.WriteString(", ")
			}
			b.Write(keys[j])
			b.WriteString(": ")
			var jv any = v
			switch x := v.(type) {
			case float64:
				if math.IsNaN(x) || math.IsInf(x, 0) {
					jv = nil
				}
			case []byte:
				jv = text(x, "")
			}
			enc, err := json.Marshal(jv)
			if err != nil {
				return fmt.Errorf("query: column %s: %w", cols[j], err)
			}
			b.Write(enc)
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
