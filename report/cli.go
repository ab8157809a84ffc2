package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/report/document"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// Main is the report command; tests drive it in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitInput   = 2
)

const usage = `report turns results.db into report.md, PNG charts and ad-hoc queries.

Usage:
  report build [--db results/results.db] [--out results/] [--experiment NAME ...]
  report query 'SQL' [--db results/results.db] [--format table|csv|json]
  report serve [--db results/results.db] [--addr 127.0.0.1:8080]

Run 'report COMMAND -h' for a command's flags.
Exit codes: 0 success, 2 bad input, 1 other failure.
`

// usageError is bad input on the command line: exit 2, with a hint.
type usageError struct {
	msg  string
	hint string
}

func (e *usageError) Error() string {
	if e.hint == "" {
		return e.msg
	}
	return e.msg + " (" + e.hint + ")"
}

// Run runs the command line args (without the program name) and returns
// the exit code. Errors go to Stderr as "report: ...".
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitInput
	}
	var err error
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(m.Stdout, usage)
		return exitOK
	case "build":
		err = (&buildCommand{m: m}).Run(ctx, args[1:])
	case "query":
		err = (&queryCommand{m: m}).Run(ctx, args[1:])
	case "serve":
		err = (&serveCommand{m: m}).Run(ctx, args[1:])
	default:
		err = &usageError{msg: fmt.Sprintf("unknown command %q", args[0]), hint: "commands: build, query, serve; see report -h"}
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "report: %v\n", err)
		return exitCode(err)
	}
	return exitOK
}

// exitCode maps an error to 2 (bad input) or 1 (anything else).
func exitCode(err error) int {
	var ue *usageError
	var sv *store.SchemaVersionError
	switch {
	case errors.As(err, &ue), errors.As(err, &sv),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, store.ErrNotFound),
		errors.Is(err, store.ErrRefused), store.IsStatementError(err),
		errors.Is(err, document.ErrNoRuns):
		return exitInput
	}
	return exitFailure
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" { // everything after is positional
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newFlagSet returns a flag set that reports errors as usageErrors
// instead of printing them, and prints its help to w on -h.
func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fs.SetOutput(w)
		fmt.Fprintf(w, "Usage:\n  %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// flagError turns a flag parsing error into a usageError naming the
// command, or passes flag.ErrHelp through.
func flagError(cmd string, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{msg: cmd + ": " + err.Error(), hint: "see report " + cmd + " -h"}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty value")
	}
	*s = append(*s, v)
	return nil
}
