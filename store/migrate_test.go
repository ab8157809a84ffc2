package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestOpenTwiceAppliesMigrationsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "results.db") // parent dirs are created
	for i := 0; i < 2; i++ {
		db, err := Open(path)
		if err != nil {
			t.Fatalf("Open(%s) #%d = %v", path, i+1, err)
		}
		known, _ := knownVersion()
		if v, err := db.userVersion(context.Background(), db.db); err != nil || v != known {
			t.Errorf("user_version after Open #%d = %d, %v, want %d", i+1, v, err, known)
		}
		if n := countRows(t, db, "schema_migrations", ""); n != known {
			t.Errorf("schema_migrations rows after Open #%d = %d, want %d", i+1, n, known)
		}
		checkIntegrity(t, db)
		db.Close()
	}
}

func TestOpenSetsPragmas(t *testing.T) {
	db, _ := openTest(t)
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	} {
		var got string
		if err := db.db.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil || got != c.want {
			t.Errorf("PRAGMA %s = %q, %v, want %q", c.pragma, got, err, c.want)
		}
	}
}

func setUserVersion(t *testing.T, path string, v int) {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("PRAGMA user_version = " + strconv.Itoa(v)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	known, _ := knownVersion()
	setUserVersion(t, path, known+6)

	for name, open := range map[string]func(string) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
		db, err := open(path)
		if err == nil {
			db.Close()
			t.Fatalf("%s(%s) on schema version %d = nil error, want a SchemaVersionError", name, path, known+6)
		}
		var sv *SchemaVersionError
		if !errors.As(err, &sv) || sv.Have != known+6 || sv.Known != known {
			t.Errorf("%s(%s) = %v, want *SchemaVersionError{Have: %d, Known: %d}", name, path, err, known+6, known)
		}
		want := path + " has schema version " + strconv.Itoa(known+6) + ", this build knows up to " + strconv.Itoa(known) + ": update simclr-ablate"
		if err.Error() != want {
			t.Errorf("%s(%s) error = %q, want %q", name, path, err, want)
		}
	}
}

func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "results.db")
	if db, err := OpenReadOnly(missing); err == nil || !strings.Contains(err.Error(), missing) {
		if db != nil {
			db.Close()
		}
		t.Errorf("OpenReadOnly(%s) = %v, want an error naming the path", missing, err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenReadOnly(%s) created %s (stat: %v)", missing, filepath.Dir(missing), err)
	}

	// An SQLite file without the schema is an older schema (version 0).
	empty := filepath.Join(dir, "empty.db")
	setUserVersion(t, empty, 0)
	if db, err := OpenReadOnly(empty); err == nil {
		db.Close()
		t.Errorf("OpenReadOnly(%s) on an empty SQLite file = nil error, want a SchemaVersionError", empty)
	} else if !strings.Contains(err.Error(), "schema version 0") {
		t.Errorf("OpenReadOnly(%s) = %v, want it to mention schema version 0", empty, err)
	}

	// A file that is not SQLite.
	text := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a database\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(string) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
		if db, err := open(text); err == nil || !strings.Contains(err.Error(), text) {
			if db != nil {
				db.Close()
			}
			t.Errorf("%s(%s) on a text file = %v, want an error naming the path", name, text, err)
		}
	}

	// Writes through a read-only DB fail; the file stays readable.
	path := filepath.Join(dir, "results.db")
	rw, _ := openTestAt(t, path)
	expID := mustExperiment(t, rw, "e")
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatalf("OpenReadOnly(%s) = %v", path, err)
	}
	defer ro.Close()
	if _, err := ro.EnsureExperiment(context.Background(), "x", "", ""); err == nil {
		t.Errorf("EnsureExperiment on a read-only DB = nil error, want an error")
	}
	cfg := testConfig(1)
	if _, _, _, err := ro.Claim(context.Background(), expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{}); err == nil {
		t.Errorf("Claim on a read-only DB = nil error, want an error")
	}
	if _, err := ro.db.Exec("INSERT INTO experiments (name, created_at) VALUES ('sneaky', '')"); err == nil {
		t.Errorf("raw INSERT through a read-only DB = nil error, want an error")
	}
	exps, err := ro.ListExperiments(context.Background())
	if err != nil || len(exps) != 1 || exps[0].Name != "e" {
		t.Errorf("ListExperiments() on the read-only DB = %+v, %v, want [e]", exps, err)
	}
}

func TestFileURIEscapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%d e")
	db, _ := openTestAt(t, filepath.Join(dir, "results.db"))
	mustExperiment(t, db, "e")
	if _, err := os.Stat(filepath.Join(dir, "results.db")); err != nil {
		t.Errorf("Open in %q did not create results.db there: %v", dir, err)
	}
}

// TestOpenConcurrent: processes opening a new file at once apply each
// migration once.
func TestOpenConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	const n = 4
	errs := make(chan error, n)
	dbs := make(chan *DB, n)
	for i := 0; i < n; i++ {
		go func() {
			db, err := Open(path)
			errs <- err
			dbs <- db
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("Open(%s) concurrently = %v", path, err)
		}
		if db := <-dbs; db != nil {
			defer db.Close()
		}
	}
	db, _ := openTestAt(t, path)
	known, _ := knownVersion()
	if got := countRows(t, db, "schema_migrations", ""); got != known {
		t.Errorf("schema_migrations rows = %d, want %d", got, known)
	}
}
