package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// Main is the runner program with its outputs, so tests can drive it
// in-process.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// Terminal reports whether Stderr is a terminal, which turns on the
	// live progress bars of run. Nil: Stderr is a terminal when it is an
	// *os.File that golang.org/x/term says is one.
	Terminal func() bool
}

// NewMain returns a Main on the process's stdout and stderr.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr}
}

const mainUsage = `runner runs SimCLR ablation grids and records every run in SQLite.

Usage:

	runner <command> [arguments]

Commands:

	run             run the cells of a grid file (pretrain + evaluate), recording them
	plan            show the cells of a grid file, their status and estimated time
	ls              list recorded runs, newest first
	show            show everything about one run
	export          write one row a run as csv, json or markdown
	export-encoder  write a run's trained encoder as safetensors, for PyTorch
	merge           fold shard databases (runner run --shard) into one
	submit          run a grid on Slurm (job array + merge job) or Kubernetes (Indexed Job)
	status          show the progress of a grid's shards

Run "runner <command> -h" for a command's flags. Flags may come before or
after the positional argument. Exit status: 0 success, 1 a cell failed (the
others were finished) or a database error, 2 bad input (usage, grid file,
missing file), 130 interrupted.
`

// Run parses args (without the program name), runs the command they name
// and returns its error, marked for cli.ExitCode: interrupted (a
// cancelled context) or bad input (usage, grid, filter or missing-file
// errors). A request for help (-h) returns nil.
func (m *Main) Run(ctx context.Context, args []string) error {
	err := m.run(ctx, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return nil
	case errors.Is(err, context.Canceled):
		return cli.Interrupted(err)
	case isBadInput(err):
		return cli.BadInput(err)
	}
	return err
}

func (m *Main) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return cli.Usagef("no command given (run, plan, ls, show, export, export-encoder, merge, submit, status; see runner -h)")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "run":
		return (&RunCommand{Stdout: m.Stdout, Stderr: m.Stderr, Terminal: m.isTerminal()}).Run(ctx, rest)
	case "plan":
		return (&PlanCommand{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, rest)
	case "ls":
		return (&LsCommand{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, rest)
	case "show":
		return (&ShowCommand{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, rest)
	case "export":
		return (&ExportCommand{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, rest)
	case "export-encoder":
		return (&ExportEncoderCommand{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, rest)
	case "merge":
		return (&MergeCommand{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, rest)
	case "submit":
		return (&SubmitCommand{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, rest)
	case "status":
		return (&StatusCommand{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, rest)
	case "-h", "-help", "--help", "help":
		if name == "help" && len(rest) > 0 {
			return m.run(ctx, []string{rest[0], "-h"})
		}
		fmt.Fprint(m.Stdout, mainUsage)
		return nil
	}
	return cli.Usagef("unknown command %q (valid: run, plan, ls, show, export, export-encoder, merge, submit, status; see runner -h)", name)
}

// isBadInput reports whether err is one of the runner's packages' errors
// that the user fixes by changing the command line or a file: a grid
// error, a bad --where, a run or experiment that is not in the database.
// (Usage errors and missing files are bad input to cli.ExitCode already.)
func isBadInput(err error) bool {
	var (
		ge *grid.Error
		we *store.WhereError
	)
	return errors.As(err, &ge) || errors.As(err, &we) || errors.Is(err, store.ErrNotFound)
}

func (m *Main) isTerminal() bool {
	if m.Terminal != nil {
		return m.Terminal()
	}
	f, ok := m.Stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
