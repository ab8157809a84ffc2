package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/report/document"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// Main is the report command; tests drive it in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// NewMain returns a Main on the process's stdin, stdout and stderr.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

const usage = `report turns results.db into report.md, PNG charts and ad-hoc queries.

Usage:
  report build [--db results/results.db] [--out results/] [--experiment NAME ...]
  report query 'SQL' [--db results/results.db] [--format table|csv|json]
  report serve [--db results/results.db] [--addr 127.0.0.1:8080]

Run 'report COMMAND -h' for a command's flags.
Exit codes: 0 success, 2 bad input, 1 other failure.
`

// Run runs the command line args (without the program name) and returns
// its error, marked bad input for cli.ExitCode where it is (bad flags or
// arguments, a missing database, a schema this build does not know, an
// unknown experiment, a database without runs, refused or invalid SQL).
// A request for help (-h) returns nil.
func (m *Main) Run(ctx context.Context, args []string) error {
	err := m.run(ctx, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return nil
	case isBadInput(err):
		return cli.BadInput(err)
	}
	return err
}

func (m *Main) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &cli.UsageError{Msg: "no command given (build, query, serve; see report -h)", Usage: usage}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	case "build":
		return (&buildCommand{m: m}).Run(ctx, args[1:])
	case "query":
		return (&queryCommand{m: m}).Run(ctx, args[1:])
	case "serve":
		return (&serveCommand{m: m}).Run(ctx, args[1:])
	}
	return cli.Usagef("unknown command %q (commands: build, query, serve; see report -h)", args[0])
}

// isBadInput reports whether err is one of the store's or the document's
// errors that the user fixes by changing the command line or the
// database. (Usage errors and missing files are bad input to cli.ExitCode
// already.)
func isBadInput(err error) bool {
	var sv *store.SchemaVersionError
	return errors.As(err, &sv) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrRefused) || store.IsStatementError(err) ||
		errors.Is(err, document.ErrNoRuns)
}
