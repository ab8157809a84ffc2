package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	// A database with one finished run, for the read commands.
	mustRun(t, 0, "run", "testdata/tiny.toml", "--db", db, "--set", "epochs=1", "--set", "linear_epochs=5")
	missing := filepath.Join(dir, "missing.db")

	tests := []struct {
		args []string
		code int
		out  string // a fragment of stdout (code 0) or stderr
	}{
		{nil, 2, "no command given"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"-h"}, 0, "Commands:"},
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"help", "ls"}, 0, "Usage: runner ls"},
		{[]string{"run", "-h"}, 0, "Usage: runner run FILE.toml"},
		{[]string{"run", "testdata/tiny.toml", "--help"}, 0, "--retry-failed"},
		{[]string{"plan", "-h"}, 0, "Usage: runner plan FILE.toml"},
		{[]string{"ls", "-h"}, 0, "Usage: runner ls"},
		{[]string{"show", "-h"}, 0, "Usage: runner show RUN_ID"},
		{[]string{"export", "-h"}, 0, "Usage: runner export"},
		{[]string{"run"}, 2, "want one grid file, got 0"},
		{[]string{"run", "a.toml", "b.toml"}, 2, "want one grid file, got 2"},
		{[]string{"run", "testdata/tiny.toml", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"run", "testdata/tiny.toml", "-j", "0", "--db", missing}, 2, "-j 0"},
		{[]string{"run", "testdata/tiny.toml", "-j", "two"}, 2, `invalid value "two" for flag -j`},
		{[]string{"run", "testdata/tiny.toml", "--progress", "fancy", "--db", missing}, 2, "--progress"},
		{[]string{"run", "testdata/tiny.toml", "--stale-after", "1ms", "--db", missing}, 2, "--stale-after"},
		{[]string{"run", "testdata/nope.toml", "--db", missing}, 2, "testdata/nope.toml"},
		{[]string{"run", "testdata/tiny.toml", "--db", dir}, 2, "is a directory"},
		{[]string{"run", "testdata/tiny.toml", "--set", "augment=[colour]", "--db", missing}, 2, `--set augment=[colour]: augment: unknown transform "colour"`},
		{[]string{"run", "testdata/tiny.toml", "--set", "epochs=-1", "--db", missing}, 2, "must be >= 0, got -1"},
		{[]string{"run", "testdata/tiny.toml", "--set", "augmnet=[crop]", "--db", missing}, 2, "augmnet"},
		{[]string{"run", "testdata/plan.toml", "--max-cells", "3", "--db", missing}, 2, "over the limit of 3"},
		{[]string{"plan", "testdata/tiny.toml", "extra"}, 2, "want one grid file, got 2"},
		{[]string{"ls", "--db", missing}, 2, "no such results database"},
		{[]string{"ls", "--db", db, "--status", "done"}, 2, `--status "done": unknown status`},
		{[]string{"ls", "--db", db, "--where", "colour = 'red'"}, 2, "colour"},
		{[]string{"ls", "--db", db, "--where", "head = "}, 2, "--where"},
		{[]string{"ls", "--db", db, "--experiment", "nope"}, 2, `experiment "nope"`},
		{[]string{"ls", "--db", db, "stray"}, 2, `unexpected argument "stray"`},
		{[]string{"show", "--db", db}, 2, "want one run id"},
		{[]string{"show", "abc", "--db", db}, 2, `"abc" is not a run id`},
		{[]string{"show", "999", "--db", db}, 2, "not found"},
		{[]string{"show", "1", "--db", missing}, 2, "no such results database"},
		{[]string{"export", "--db", db, "--format", "xml"}, 2, `--format "xml": unknown format`},
		{[]string{"export", "--db", db, "--experiment", "nope"}, 2, `experiment "nope"`},
		{[]string{"ls", "--db", db}, 0, "crop+color"},
		{[]string{"show", "1", "--db", db}, 0, "run 1: tiny / crop+color"},
		{[]string{"export", "--db", db, "--format", "md"}, 0, "| run_id |"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runMain(t, tt.args...)
		where := stderr
		if code == 0 {
			where = stdout
		}
		if code != tt.code || !strings.Contains(where, tt.out) {
			t.Errorf("runner %s = exit %d, want %d with %q in\nstdout: %s\nstderr: %s",
				strings.Join(tt.args, " "), code, tt.code, tt.out, stdout, stderr)
		}
		if msg := strings.TrimSpace(stderr); code == 2 && (strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "runner: ")) {
			t.Errorf("runner %s: stderr = %q, want one line starting \"runner: \"", strings.Join(tt.args, " "), stderr)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a command that failed on bad input created %s (stat: %v)", missing, err)
	}
}

// TestBadGridFiles runs every malformed grid of runner/grid's testdata:
// exit status 2, a one-line error naming the file, and no database
// created, not even its directory.
func TestBadGridFiles(t *testing.T) {
	files, err := filepath.Glob("grid/testdata/bad/*.toml")
	if err != nil || len(files) < 25 {
		t.Fatalf("Glob(grid/testdata/bad/*.toml) = %d files, %v; want at least 25", len(files), err)
	}
	dir := t.TempDir()
	for _, f := range files {
		db := filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".toml"), "results.db")
		for _, cmd := range []string{"run", "plan"} {
			code, stdout, stderr := runMain(t, cmd, f, "--db", db)
			msg := strings.TrimSpace(stderr)
			if code != 2 || !strings.HasPrefix(msg, "runner: "+f) || strings.Contains(msg, "\n") || stdout != "" {
				t.Errorf("runner %s %s = exit %d, stderr %q, stdout %q; want exit 2 and one line starting %q",
					cmd, f, code, msg, stdout, "runner: "+f)
			}
		}
		if _, err := os.Stat(filepath.Dir(db)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("runner run %s created %s (stat: %v), want nothing written", f, filepath.Dir(db), err)
		}
	}
}

// TestBadGridLeavesDBUntouched: a bad grid run against an existing
// database writes nothing to it (no experiment row): a grid error, a
// setting out of range, a dataset folder missing (even for a later cell).
func TestBadGridLeavesDBUntouched(t *testing.T) {
	db := filepath.Join(t.TempDir(), "results.db")
	mustRun(t, 0, "run", "testdata/tiny.toml", "--db", db, "--set", "epochs=1", "--set", "linear_epochs=5")
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"grid/testdata/bad/unknown_transform_grid.toml", "grid/testdata/bad/duplicate_key.toml",
		"grid/testdata/bad/simclr_zero_epochs.toml", "testdata/bad/imagefolder_missing_path.toml", "testdata/bad/missing_path_in_later_variant.toml"} {
		mustRun(t, 2, "run", f, "--db", db)
	}
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, after) {
		t.Errorf("running bad grids changed %s", db)
	}
	if n := sqlCount(t, db, "SELECT count(*) FROM experiments"); n != 1 {
		t.Errorf("experiments after bad grids = %d, want 1", n)
	}
}

// TestArgs: flags may come before, between or after the positional
// arguments, and everything after "--" is positional, never a flag.
func TestArgs(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	tests := []struct {
		args []string
		code int
		out  string // a fragment of stdout (code 0) or stderr
	}{
		{[]string{"plan", "--db", missing, "testdata/tiny.toml", "-j", "2"}, 0, "crop+color"},
		{[]string{"plan", "testdata/tiny.toml", "--db", missing}, 0, "crop+color"},
		{[]string{"plan", "--db", missing, "--", "testdata/tiny.toml"}, 0, "crop+color"},
		{[]string{"plan", "--db", missing, "testdata/tiny.toml", "--"}, 0, "crop+color"},
		{[]string{"plan", "testdata/tiny.toml", "--", "--db", missing}, 2, "want one grid file, got 3 arguments"},
		{[]string{"plan", "--db", missing, "--", "testdata/tiny.toml", "-j", "2"}, 2, "want one grid file, got 3 arguments"},
		{[]string{"run", "--db", missing, "testdata/tiny.toml", "--", "--dry-run"}, 2, "want one grid file, got 2 arguments"},
		{[]string{"run", "--db", missing, "--", "-h"}, 2, "-h: cannot read the grid file"},
		{[]string{"show", "--db", missing, "--", "-1"}, 2, `"-1" is not a run id`},
		{[]string{"show", "--", "1", "--db", missing}, 2, "want one run id, got 3 arguments"},
		{[]string{"show", "--db", missing, "--", "1"}, 2, "no such results database"},
		{[]string{"ls", "--db", missing, "--", "--status", "done"}, 2, `unexpected argument "--status"`},
		{[]string{"export", "--db", missing, "--", "--format", "md"}, 2, `unexpected argument "--format"`},
	}
	for _, tt := range tests {
		code, stdout, stderr := runMain(t, tt.args...)
		where := stderr
		if code == 0 {
			where = stdout
		}
		if code != tt.code || !strings.Contains(where, tt.out) {
			t.Errorf("runner %s = exit %d, want %d with %q in\nstdout: %s\nstderr: %s",
				strings.Join(tt.args, " "), code, tt.code, tt.out, stdout, stderr)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a command with a --db after -- created %s (stat: %v)", missing, err)
	}
}

// TestUsageErrorExitStatus runs the runner binary: main prints a usage
// error as one line on stderr and exits 2, and -h exits 0.
func TestUsageErrorExitStatus(t *testing.T) {
	bin := runnerBinary(t)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "runner: no command given (run, plan, ls, show, export, export-encoder, merge, submit, status; see runner -h)\n"},
		{[]string{"run", "testdata/tiny.toml", "--bogus"}, 2, "runner: run: flag provided but not defined: -bogus (see runner run -h)\n"},
		{[]string{"show", "--", "-1"}, 2, `runner: show: "-1" is not a run id (a positive integer, as in the first column of runner ls)` + "\n"},
		{[]string{"ls", "-h"}, 0, ""},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("runner %s: %v", strings.Join(tt.args, " "), err)
		}
		if code := cmd.ProcessState.ExitCode(); code != tt.code || stderr.String() != tt.stderr {
			t.Errorf("runner %s = exit %d, stderr %q; want exit %d, stderr %q",
				strings.Join(tt.args, " "), code, stderr.String(), tt.code, tt.stderr)
		}
		if tt.code == 0 && !strings.Contains(stdout.String(), "Usage:") {
			t.Errorf("runner %s: stdout %q, want the usage", strings.Join(tt.args, " "), stdout.String())
		}
	}
}
