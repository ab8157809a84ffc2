package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestReadCommands checks ls, show and export on a database with two
// finished runs and a failed one.
func TestReadCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "results.db")
	mustRun(t, 1, "run", "testdata/diverge.toml", "--db", db)
	byLabel := runsByLabel(listRuns(t, db))
	good, bad := byLabel["good"], byLabel["diverges"]

	t.Run("ls", func(t *testing.T) {
		stdout, _ := mustRun(t, 0, "ls", "--db", db)
		lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID  EXPERIMENT  LABEL") || !strings.HasSuffix(lines[0], "ERROR") {
			t.Fatalf("ls = %q, want a header with an ERROR column and 3 runs", stdout)
		}
		// Newest first, columns aligned under the header.
		col := strings.Index(lines[0], "STATUS")
		var ids []int
		for _, l := range lines[1:] {
			id, err := strconv.Atoi(strings.Fields(l)[0])
			if err != nil {
				t.Fatalf("ls line %q: no id first", l)
			}
			ids = append(ids, id)
			if st := strings.Fields(l[col:])[0]; st != "finished" && st != "failed" {
				t.Errorf("ls line %q: %q under STATUS, want a status (columns misaligned)", l, st)
			}
		}
		if !slices.Equal(ids, []int{3, 2, 1}) {
			t.Errorf("ls ids = %v, want newest first [3 2 1]", ids)
		}
		if !strings.Contains(lines[2], "training diverged at epoch 1") {
			t.Errorf("ls line of the failed run = %q, want its error", lines[2])
		}
	})

	t.Run("ls filters", func(t *testing.T) {
		tests := []struct {
			args   []string
			labels []string
		}{
			{[]string{"--where", "method = 'raw-pixels'"}, []string{"raw pixels"}},
			{[]string{"--where", "optimizer = 'sgd' or linear_f1 > 2"}, []string{"diverges"}},
			{[]string{"--where", "lr < 1 and status = 'finished'"}, []string{"raw pixels", "good"}},
			{[]string{"--status", "failed"}, []string{"diverges"}},
			{[]string{"--experiment", "diverge", "-n", "1"}, []string{"raw pixels"}},
		}
		for _, tt := range tests {
			args := append([]string{"ls", "--db", db}, tt.args...)
			stdout, _ := mustRun(t, 0, args...)
			var labels []string
			for _, l := range strings.Split(strings.TrimRight(stdout, "\n"), "\n")[1:] {
				for _, lb := range []string{"raw pixels", "good", "diverges"} {
					if strings.Contains(l, "  "+lb+"  ") {
						labels = append(labels, lb)
					}
				}
			}
			if !slices.Equal(labels, tt.labels) {
				t.Errorf("runner %s = runs %q, want %q\n%s", strings.Join(args, " "), labels, tt.labels, stdout)
			}
		}
		stdout, stderr := mustRun(t, 0, "ls", "--db", db, "--status", "interrupted")
		if stdout != "" || !strings.Contains(stderr, "no runs match") {
			t.Errorf("ls --status interrupted = %q, %q; want nothing and a note on stderr", stdout, stderr)
		}
	})

	t.Run("show", func(t *testing.T) {
		stdout, _ := mustRun(t, 0, "show", strconv.FormatInt(good.ID, 10), "--db", db)
		for _, want := range []string{
			"run 1: diverge / good (seed 1)", "status       finished (attempt 1)",
			"config:",
			"epochs:", "  1/2 ", "  2/2 ", "knn acc",
			"evaluations:", "linear on h, label fraction 1 (train 128, test 32",
			"per-class F1:", "    0  circle", "    3  cross",
			"confusion (rows true, columns predicted):",
			"provenance:", "  go                go1.", "GOMAXPROCS", "  dataset checksum",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("show %d lacks %q:\n%s", good.ID, want, stdout)
			}
		}
		// Settings one a line, values aligned after the longest name.
		for _, re := range []string{`(?m)^  optimizer +adam$`, `(?m)^  synthetic_size +128$`, `(?m)^  knn_train +1000$`} {
			if !regexp.MustCompile(re).MatchString(stdout) {
				t.Errorf("show %d lacks a line matching %s:\n%s", good.ID, re, stdout)
			}
		}
		if strings.Contains(stdout, "error:") {
			t.Errorf("show of a finished run has an error section:\n%s", stdout)
		}
		stdout, _ = mustRun(t, 0, "show", strconv.FormatInt(bad.ID, 10), "--db", db)
		for _, want := range []string{"status       failed (attempt 1)", "error:\n  training diverged at epoch 1", "evaluations:\n  (none recorded)"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("show %d lacks %q:\n%s", bad.ID, want, stdout)
			}
		}
	})

	t.Run("export", func(t *testing.T) {
		stdout, _ := mustRun(t, 0, "export", "--db", db, "--format", "csv")
		recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		if err != nil || len(recs) != 4 {
			t.Fatalf("export csv: %d records, %v; want a header and 3 runs:\n%s", len(recs), err, stdout)
		}
		head := recs[0]
		for _, c := range []string{"run_id", "label", "status", "linear_f1", "optimizer", "lr", "linear_h_1_f1"} {
			if !slices.Contains(head, c) {
				t.Errorf("export csv header %q lacks %q", head, c)
			}
		}
		f1 := slices.Index(head, "linear_f1")
		if recs[1][slices.Index(head, "label")] != "good" || recs[1][f1] == "" || recs[2][f1] != "" {
			t.Errorf("export csv rows = %q, want good (with linear_f1) then diverges (without)", recs[1:])
		}

		stdout, _ = mustRun(t, 0, "export", "--db", db, "--format", "json", "--experiment", "diverge")
		var rows []map[string]any
		if err := json.Unmarshal([]byte(stdout), &rows); err != nil || len(rows) != 3 {
			t.Fatalf("export json: %d rows, %v:\n%s", len(rows), err, stdout)
		}
		if rows[0]["label"] != "good" || rows[1]["linear_f1"] != nil || rows[0]["seed"] != 1.0 {
			t.Errorf("export json rows[0] = %v, rows[1].linear_f1 = %v", rows[0], rows[1]["linear_f1"])
		}
		if want, _ := strconv.ParseFloat(recs[1][f1], 64); rows[0]["linear_f1"] != want {
			t.Errorf("export json linear_f1 = %v, csv %v", rows[0]["linear_f1"], want)
		}
		// Keys keep the column order.
		dec := json.NewDecoder(bytes.NewReader([]byte(stdout)))
		var keys []string
		dec.Token() // [
		dec.Token() // {
		for dec.More() && len(keys) < len(head) {
			tok, _ := dec.Token()
			keys = append(keys, tok.(string))
			var v any
			dec.Decode(&v)
		}
		if !slices.Equal(keys, head) {
			t.Errorf("export json keys = %q, want the csv columns %q", keys, head)
		}

		stdout, _ = mustRun(t, 0, "export", "--db", db, "--format", "md")
		lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
		if len(lines) != 5 || strings.Trim(lines[1], "|-: ") != "" {
			t.Errorf("export md = %d lines, want a header, a rule and 3 rows:\n%s", len(lines), stdout)
		}
		for _, l := range lines {
			if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != len(head)+1 {
				t.Errorf("export md line has %d pipes, want %d: %q", n, len(head)+1, l)
			}
		}
	})
}
