package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runMainEnv, set in the environment of the test binary, makes it run
// main instead of the tests: the subprocess tests run the real main.
const runMainEnv = "REPORT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestArgs: flags may come before, between or after the positional
// arguments, and everything after "--" is positional, never a flag.
func TestArgs(t *testing.T) {
	inTempDir(t)
	writeFixture(t, "results.db", fixtureSpecs()[:1])
	const count = "SELECT count(*) AS n FROM runs"
	tests := []struct {
		args []string
		code int
		out  string // stdout (code 0) or a fragment of stderr
	}{
		{[]string{"query", "--db", "results.db", count, "--format", "csv"}, 0, "n\n21\n"},
		{[]string{"query", "--format", "csv", "--db", "results.db", "--", count}, 0, "n\n21\n"},
		{[]string{"query", count, "--db", "results.db", "--format", "csv", "--"}, 0, "n\n21\n"},
		// A statement that starts with a comment needs --: else it is a flag.
		{[]string{"query", "--db", "results.db", "--format", "csv", "--", "-- all runs\n" + count}, 0, "n\n21\n"},
		{[]string{"query", "--db", "results.db", "-- all runs\n" + count}, 2, "flag provided but not defined"},
		// After --, --db is an argument: the statement has extra arguments.
		{[]string{"query", count, "--", "x", "--db", "y"}, 2,
			`query: 4 arguments, want one SQL statement (quote the statement; "--db" came after -- so it is an argument, not a flag)`},
		{[]string{"query", "--db", "results.db", "--", "--format", "csv"}, 2, `2 arguments, want one SQL statement (quote the statement; "--format" came after --`},
		{[]string{"query", "--db", "results.db", count, "runs"}, 2, "2 arguments, want one SQL statement (quote the statement)\n"},
		{[]string{"query", "--db", "results.db", "--", "-h"}, 2, "query: refused"},
		{[]string{"build", "--db", "results.db", "--", "--out", "out"}, 2, `build: unexpected argument "--out"`},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(t, tt.args...)
		ok := code == tt.code && strings.Contains(stderr, tt.out)
		if tt.code == 0 {
			ok = code == 0 && stdout == tt.out && stderr == ""
		}
		if !ok {
			t.Errorf("report %q = exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, code, stdout, stderr, tt.code, tt.out)
		}
	}
	// Neither y (the --db after --) nor out was created.
	if es := dirEntries(t, "."); len(es) != 1 || es[0] != "results.db" {
		t.Errorf("files after the commands = %v, want only results.db", es)
	}
}

// TestUsageErrorExitStatus runs main in a subprocess (this test binary,
// see TestMain): a usage error is one line on stderr and exit status 2.
func TestUsageErrorExitStatus(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args   []string
		code   int
		stderr string // a prefix of stderr
	}{
		{nil, 2, "report turns results.db into report.md"},
		{[]string{"bild"}, 2, `report: unknown command "bild" (commands: build, query, serve; see report -h)` + "\n"},
		{[]string{"query", "SELECT 1", "--bogus"}, 2, "report: query: flag provided but not defined: -bogus (see report query -h)\n"},
		{[]string{"query", "SELECT 1", "--", "x", "--db", "y"}, 2, "report: query: 4 arguments, want one SQL statement"},
		{[]string{"build", "-h"}, 0, ""},
	}
	for _, tt := range tests {
		cmd := exec.Command(os.Args[0], tt.args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("report %q: %v", tt.args, err)
		}
		code := cmd.ProcessState.ExitCode()
		if code != tt.code || !strings.HasPrefix(stderr.String(), tt.stderr) || (tt.stderr == "") != (stderr.Len() == 0) {
			t.Errorf("report %q = exit %d, stderr %q; want exit %d, stderr starting %q", tt.args, code, stderr.String(), tt.code, tt.stderr)
		}
		if code == 2 && stdout.Len() != 0 {
			t.Errorf("report %q wrote %q to stdout, want nothing on bad input", tt.args, stdout.String())
		}
		if tt.code == 0 && !strings.Contains(stdout.String(), "Usage:") {
			t.Errorf("report %q: stdout %q, want the usage", tt.args, stdout.String())
		}
	}
	if es, err := os.ReadDir(dir); err != nil || len(es) != 0 {
		t.Errorf("the commands wrote %v (%v) into the working directory, want nothing", es, err)
	}
}
