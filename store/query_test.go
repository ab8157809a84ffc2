package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// snapshot renders the whole database (schema, version, every row) as text.
func snapshot(t *testing.T, db *DB) string {
	t.Helper()
	var sb strings.Builder
	var v int
	if err := db.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&sb, "user_version %d\n", v)
	cols, rows, err := db.query(context.Background(), "SELECT type, name, sql FROM sqlite_master ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(&sb, cols, rows)
	for _, r := range rows {
		if r[0] != "table" {
			continue
		}
		_, data, err := db.query(context.Background(), "SELECT * FROM "+r[1].(string))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&sb, r[1], data)
	}
	return sb.String()
}

func TestQueryRefusesWrites(t *testing.T) {
	f := newFixture(t)
	ro, err := OpenReadOnly(f.db.path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	attached := filepath.Join(t.TempDir(), "attached.db")
	vacuumed := filepath.Join(t.TempDir(), "copy.db")
	refused := []string{
		"DELETE FROM runs",
		"DROP TABLE runs",
		"UPDATE runs SET status = 'failed'",
		"INSERT INTO experiments (name, created_at) VALUES ('x', '')",
		"REPLACE INTO experiments (id, name, created_at) VALUES (1, 'x', '')",
		"ATTACH DATABASE '" + attached + "' AS x",
		"PRAGMA writable_schema = ON",
		"PRAGMA writable_schema=1; DELETE FROM sqlite_master",
		"PRAGMA user_version = 99",
		"select 1; delete from runs",
		"SELECT 1; DELETE FROM runs;",
		"SELECT ';'; DELETE FROM runs",
		"select * from runs -- fine\n; drop table runs",
		"/* a comment */ DELETE FROM runs",
		"WITH x AS (SELECT 1) DELETE FROM runs",
		"WITH x AS (SELECT 1) INSERT INTO experiments (name, created_at) SELECT 'x', '' FROM x",
		"WITH x AS (SELECT 1) UPDATE runs SET label = 'x'",
		"CREATE TABLE t (x)",
		"CREATE TEMP TABLE t (x)",
		"CREATE VIEW v AS SELECT 1",
		"ALTER TABLE runs ADD COLUMN x",
		"BEGIN",
		"COMMIT",
		"SAVEPOINT a",
		"VACUUM",
		"VACUUM INTO '" + vacuumed + "'",
		"REINDEX",
		"ANALYZE",
		"DETACH DATABASE main",
		"SELECT load_extension('/tmp/evil.so')",
		"",
		"  -- only a comment",
		"SELECT 'unterminated",
	}
	for name, db := range map[string]*DB{"read-write": f.db, "read-only": ro} {
		before := snapshot(t, f.db)
		for _, q := range refused {
			cols, rows, err := db.Query(context.Background(), q)
			if !errors.Is(err, ErrRefused) {
				t.Errorf("%s: Query(%q) = %v, %v, %v, want ErrRefused", name, q, cols, rows, err)
			}
			if after := snapshot(t, f.db); after != before {
				t.Fatalf("%s: Query(%q) changed the database", name, q)
			}
		}
		for _, p := range []string{attached, vacuumed} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %s exists after the refused queries (stat: %v)", name, p, err)
			}
		}
	}
	// Messages say what was refused.
	for q, want := range map[string]string{
		"DELETE FROM runs":                      "DELETE statements change the database",
		"select 1; delete from runs":            "more than one statement",
		"WITH x AS (SELECT 1) DELETE FROM runs": "DELETE from runs",
		"SELECT load_extension('x')":            "load_extension()",
	} {
		if _, _, err := f.db.Query(context.Background(), q); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Query(%q) = %v, want an error containing %q", q, err, want)
		}
	}
	// The read-write DB still writes: its connections were left writable.
	for i := 0; i < 3; i++ {
		if _, err := f.db.EnsureExperiment(context.Background(), fmt.Sprintf("after-%d", i), "", ""); err != nil {
			t.Errorf("EnsureExperiment after refused queries = %v", err)
		}
	}
}

func TestQueryReads(t *testing.T) {
	f := newFixture(t)
	ro, err := OpenReadOnly(f.db.path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	known, _ := knownVersion()
	cases := []struct {
		q    string
		args []any
		cols []string
		rows [][]any
	}{
		{"SELECT count(*) AS n FROM runs", nil, []string{"n"}, [][]any{{int64(5)}}},
		{"  -- a comment; with a semicolon\n select ';' AS s, 'x''y' AS q, \"label\" FROM runs WHERE id = ? ;", []any{2},
			[]string{"s", "q", "label"}, [][]any{{";", "x'y", "crop"}}},
		{"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT sum(x) FROM c", nil,
			[]string{"sum(x)"}, [][]any{{int64(6)}}},
		{"SELECT name FROM pragma_table_info('runs') LIMIT 1", nil, []string{"name"}, [][]any{{"id"}}},
		{"SELECT user_version FROM pragma_user_version", nil, []string{"user_version"}, [][]any{{int64(known)}}},
		{"VALUES (1, 'a')", nil, []string{"column1", "column2"}, [][]any{{int64(1), "a"}}},
		{"SELECT json_extract(config_json, '$.head') FROM runs WHERE id = 3", nil, []string{"json_extract(config_json, '$.head')"}, [][]any{{"linear"}}},
		{"select status, count(*) from run_summary group by status order by status", nil,
			[]string{"status", "count(*)"}, [][]any{{"failed", int64(1)}, {"finished", int64(3)}, {"running", int64(1)}}},
	}
	for name, db := range map[string]*DB{"read-write": f.db, "read-only": ro} {
		for _, c := range cases {
			cols, rows, err := db.Query(context.Background(), c.q, c.args...)
			if err != nil || !reflect.DeepEqual(cols, c.cols) || !reflect.DeepEqual(rows, c.rows) {
				t.Errorf("%s: Query(%q) = %q, %v, %v, want %q, %v", name, c.q, cols, rows, err, c.cols, c.rows)
			}
		}
		if _, rows, err := db.Query(context.Background(), "EXPLAIN QUERY PLAN SELECT * FROM runs WHERE id = 1"); err != nil || len(rows) == 0 {
			t.Errorf("%s: Query(EXPLAIN QUERY PLAN ...) = %v, %v, want a plan", name, rows, err)
		}
		if _, _, err := db.Query(context.Background(), "SELECT nosuchcolumn FROM runs"); err == nil || errors.Is(err, ErrRefused) {
			t.Errorf("%s: Query(bad column) = %v, want an SQL error that is not a refusal", name, err)
		}
	}
}

// TestQueryGuardsBehindTheTextCheck: statements the text check lets
// through by mistake are still refused by the authorizer, the read-only
// statement check and query_only.
func TestQueryGuardsBehindTheTextCheck(t *testing.T) {
	f := newFixture(t)
	attached := filepath.Join(t.TempDir(), "attached.db")
	before := snapshot(t, f.db)
	for _, q := range []string{
		"DELETE FROM runs",
		"DROP TABLE runs",
		"UPDATE runs SET status = 'failed'",
		"INSERT INTO experiments (name, created_at) VALUES ('x', '')",
		"ATTACH DATABASE '" + attached + "' AS x",
		"PRAGMA writable_schema = ON",
		"PRAGMA user_version = 99",
		"CREATE TEMP TABLE t (x)",
		"BEGIN IMMEDIATE",
		"SELECT load_extension('/tmp/evil.so')",
	} {
		if _, _, err := f.db.guardedQuery(context.Background(), q); !errors.Is(err, ErrRefused) {
			t.Errorf("guardedQuery(%q) = %v, want ErrRefused", q, err)
		}
		if after := snapshot(t, f.db); after != before {
			t.Fatalf("guardedQuery(%q) changed the database", q)
		}
	}
	if _, err := os.Stat(attached); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists after a refused ATTACH (stat: %v)", attached, err)
	}
	var ws int
	if err := f.db.db.QueryRow("PRAGMA writable_schema").Scan(&ws); err != nil || ws != 0 {
		t.Errorf("PRAGMA writable_schema after the refusals = %d, %v, want 0", ws, err)
	}
}

// TestSchemaExamples runs the example queries of schema.md.
func TestSchemaExamples(t *testing.T) {
	f := newFixture(t)
	b, err := os.ReadFile("schema.md")
	if err != nil {
		t.Fatal(err)
	}
	var queries []string
	for _, block := range strings.Split(string(b), "```sql\n")[1:] {
		q, _, _ := strings.Cut(block, "```")
		queries = append(queries, q)
	}
	if len(queries) < 3 {
		t.Fatalf("schema.md has %d ```sql examples, want at least 3", len(queries))
	}
	for _, q := range queries {
		if _, rows, err := f.db.Query(context.Background(), q); err != nil || len(rows) == 0 {
			t.Errorf("schema.md example\n%s\n= %v rows, %v, want rows", q, len(rows), err)
		}
	}
}
