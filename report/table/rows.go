package table

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rows of query results (database/sql values: nil, int64, float64, string,
// []byte, bool) written as CSV, JSON or a markdown table: what `runner
// export` and `report query` print.

// Value renders a value for the table and CSV formats: NULL (table) or ""
// (CSV) for nil, numbers in their shortest exact form, blobs as UTF-8
// text when they are, else as x'hex'.
func Value(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if math.IsNaN(x) {
			return null
		}
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

// WriteCSV writes a header line and one record a row; nil is empty.
func WriteCSV(w io.Writer, cols []string, rows [][]any) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(cols); err != nil {
		return err
	}
	for _, r := range rows {
		rec := make([]string, len(r))
		for j, v := range r {
			rec[j] = Value(v, "")
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes an array of objects, keys in column order (a repeated
// column name gets a _2, _3 suffix), values as JSON numbers, strings or
// null (non-finite floats too); blobs as text when UTF-8, else hex.
func WriteJSON(w io.Writer, cols []string, rows [][]any) error {
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
				jv = Value(x, "")
			}
			enc, err := json.Marshal(jv)
			if err != nil {
				return fmt.Errorf("column %s: %w", cols[j], err)
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

// WriteMarkdown writes a GitHub-flavoured markdown table; nil is empty.
func WriteMarkdown(w io.Writer, cols []string, rows [][]any) error {
	t := New(cols...)
	for _, r := range rows {
		cells := make([]string, len(r))
		for j, v := range r {
			cells[j] = Escape(Value(v, ""))
		}
		t.AddRow(cells...)
	}
	_, err := io.WriteString(w, t.Markdown())
	return err
}
