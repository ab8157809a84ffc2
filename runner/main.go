package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// gcPercent is the runner's GOGC unless the environment sets one. A cell's
// live heap is mostly the network's activation and gradient buffers,
// allocated once and reused every step, and it allocates little per step
// (about 7 MB), so collecting early costs almost nothing and keeps the
// peak RSS near the live heap: a batch-256 Fashion-MNIST cell peaked at
// 437 MB with GOGC 25 and 393 MB with 10 (README, Performance).
const gcPercent = 10

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling: a second
		// Ctrl-C kills at once (the DB stays consistent; the running cells
		// are then taken over as stale by the next run).
		<-ctx.Done()
		stop()
	}()
	code := NewMain().Execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	ExitOK          = 0
	ExitFailed      = 1   // a cell failed (after the others finished), or an I/O or database error
	ExitBadInput    = 2   // usage errors, grid errors, missing files
	ExitInterrupted = 130 // SIGINT or SIGTERM
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

	run      run the cells of a grid file (pretrain + evaluate), recording them
	plan     show the cells of a grid file, their status and estimated time
	ls       list recorded runs, newest first
	show     show everything about one run
	export   write one row a run as csv, json or markdown

Run "runner <command> -h" for a command's flags. Flags may come before or
after the positional argument. Exit status: 0 success, 1 a cell failed (the
others were finished) or a database error, 2 bad input (usage, grid file,
missing file), 130 interrupted.
`

// Run parses args (without the program name), runs the command they name
// and returns its error. A request for help (-h) returns nil.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErrorf("no command given (run, plan, ls, show, export; see runner -h)")
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
	case "-h", "-help", "--help", "help":
		if name == "help" && len(rest) > 0 {
			return m.Run(ctx, []string{rest[0], "-h"})
		}
		fmt.Fprint(m.Stdout, mainUsage)
		return nil
	}
	return usageErrorf("unknown command %q (valid: run, plan, ls, show, export; see runner -h)", name)
}

// Execute is Run for a process: it prints a failure as one line on Stderr
// and returns the exit code.
func (m *Main) Execute(ctx context.Context, args []string) int {
	err := m.Run(ctx, args)
	if err != nil {
		fmt.Fprintln(m.Stderr, "runner: "+oneLine(err.Error()))
	}
	return ExitCode(err)
}

// ExitCode maps an error of Run to the process's exit status: 0 for nil,
// 130 when it was interrupted, 2 for bad input (usage, grid, filter or
// missing-file errors), 1 otherwise (failed cells, database errors).
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case isBadInput(err):
		return ExitBadInput
	}
	return ExitFailed
}

func (m *Main) isTerminal() bool {
	if m.Terminal != nil {
		return m.Terminal()
	}
	f, ok := m.Stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// oneLine keeps the first line of a message (a user sees one line; the DB
// keeps the whole text).
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
