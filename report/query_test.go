package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestQueryFormats(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs()[:1])
	q := `SELECT label, count(*) AS runs, round(avg(linear_f1), 3) AS f1, NULL AS empty
	        FROM run_summary WHERE status = 'finished' AND method <> 'simclr'
	       GROUP BY label ORDER BY label`
	tests := []struct {
		format string
		want   string
	}{
		{"table", "" +
			"label        runs     f1  empty\n" +
			"-----------  ----  -----  -----\n" +
			"random-init     3  0.754  NULL\n" +
			"raw pixels      3  0.793  NULL\n" +
			"supervised      3  0.881  NULL\n" +
			"(3 rows)\n"},
		{"csv", "" +
			"label,runs,f1,empty\n" +
			"random-init,3,0.754,\n" +
			"raw pixels,3,0.793,\n" +
			"supervised,3,0.881,\n"},
		{"json", "" +
			"[\n" +
			"  {\"label\": \"random-init\", \"runs\": 3, \"f1\": 0.754, \"empty\": null},\n" +
			"  {\"label\": \"raw pixels\", \"runs\": 3, \"f1\": 0.793, \"empty\": null},\n" +
			"  {\"label\": \"supervised\", \"runs\": 3, \"f1\": 0.881, \"empty\": null}\n" +
			"]\n"},
	}
	for _, tt := range tests {
		// Flags after the statement, as users type them.
		code, stdout, stderr := run(t, "query", q, "--db", "results.db", "--format", tt.format)
		if code != 0 || stdout != tt.want {
			t.Errorf("report query --format %s = exit %d, stderr %q, stdout\n%s\nwant\n%s", tt.format, code, stderr, stdout, tt.want)
		}
	}
	// JSON is valid JSON also when empty, with repeated column names
	// disambiguated.
	code, stdout, _ := run(t, "query", "--format", "json", "--db", "results.db", "SELECT 1 AS a, 2 AS a WHERE 0")
	if code != 0 || stdout != "[]\n" {
		t.Errorf("report query (no rows) json = %d %q, want []", code, stdout)
	}
	code, stdout, _ = run(t, "query", "--format", "json", "--db", "results.db", "SELECT 1 AS a, 2 AS a, x'00ff' AS b, 'é' AS c")
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || len(got) != 1 ||
		got[0]["a"] != 1.0 || got[0]["a_2"] != 2.0 || got[0]["b"] != "x'00ff'" || got[0]["c"] != "é" {
		t.Errorf("report query json = exit %d, %q (%v), want a=1, a_2=2, b=x'00ff', c=é", code, stdout, err)
	}
}

func TestQueryStdin(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs()[:1])
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader("SELECT count(*) AS n FROM runs"), Stdout: &out, Stderr: &errb}
	if code := execute(t.Context(), m, "query", "-", "--db", "results.db", "--format", "csv"); code != 0 || out.String() != "n\n21\n" {
		t.Errorf("report query - (stdin) = exit %d, %q, %q, want n=21", code, out.String(), errb.String())
	}
}

// Every write is refused with exit 2 and the file is left byte for byte
// as it was.
func TestQueryRefusals(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs()[:1])
	before, err := os.ReadFile("results.db")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, sql, message string
	}{
		{"DELETE", "DELETE FROM runs", "refused"},
		{"DROP", "DROP TABLE runs", "refused"},
		{"UPDATE", "UPDATE runs SET status = 'failed'", "refused"},
		{"INSERT", "INSERT INTO experiments (name, created_at) VALUES ('x', 'now')", "refused"},
		{"ATTACH", "ATTACH DATABASE 'other.db' AS other", "refused"},
		{"PRAGMA writable_schema", "PRAGMA writable_schema = ON", "refused"},
		{"multi-statement", "SELECT 1; DELETE FROM runs", "more than one statement"},
		{"multi-statement after comment", "SELECT 1 /* ; */; DROP TABLE runs", "more than one statement"},
		{"CTE that deletes", "WITH x AS (SELECT 1) DELETE FROM runs", "refused"},
		{"VACUUM INTO", "VACUUM INTO 'copy.db'", "refused"},
		{"syntax error", "SELECT * FROM", "incomplete input"},
		{"unknown table", "SELECT * FROM nope", "no such table"},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(t, "query", tt.sql, "--db", "results.db")
		if code != 2 || !strings.Contains(stderr, tt.message) || stdout != "" {
			t.Errorf("report query %q (%s) = exit %d, stdout %q, stderr %q, want exit 2, no output, and %q", tt.sql, tt.name, code, stdout, stderr, tt.message)
		}
	}
	after, err := os.ReadFile("results.db")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("results.db changed during refused queries")
	}
	if es := dirEntries(t, "."); len(es) != 1 || es[0] != "results.db" {
		t.Errorf("files after the queries = %v, want only results.db (and SQLite's -wal and -shm; no copy.db or other.db)", es)
	}
	// The runs are all still there.
	code, stdout, _ := run(t, "query", "SELECT count(*) FROM runs", "--db", "results.db", "--format", "csv")
	if code != 0 || stdout != "count(*)\n21\n" {
		t.Errorf("runs after refused queries: exit %d, %q, want 21", code, stdout)
	}
}

func TestQueryBadInput(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs()[:1])
	tests := []struct {
		args    []string
		message string
	}{
		{[]string{"query", "--db", "results.db"}, "missing the SQL statement"},
		{[]string{"query", "SELECT 1", "SELECT 2", "--db", "results.db"}, "2 arguments"},
		{[]string{"query", "SELECT 1", "--db", "results.db", "--format", "xml"}, `unknown --format "xml" (valid: table, csv, json)`},
		{[]string{"query", "SELECT 1", "--db", "missing.db"}, "no such results database"},
		{[]string{"query", "SELECT 1", "--bogus"}, "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.message) {
			t.Errorf("report %s = exit %d, %q, want 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.message)
		}
	}
	if _, err := os.Stat("missing.db"); !os.IsNotExist(err) {
		t.Errorf("report query --db missing.db created the file (stat: %v)", err)
	}
}
