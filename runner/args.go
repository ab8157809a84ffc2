package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// usageError is a command line the runner cannot act on: exit status 2.
type usageError struct {
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// badInputError marks an error as bad input (exit 2) while keeping its
// chain for errors.Is.
type badInputError struct {
	err error
}

func (e *badInputError) Error() string { return e.err.Error() }
func (e *badInputError) Unwrap() error { return e.err }

func badInput(err error) error { return &badInputError{err: err} }

// isBadInput reports whether err is the user's to fix by changing the
// command line or a file: exit status 2.
func isBadInput(err error) bool {
	var (
		ue *usageError
		be *badInputError
		ge *grid.Error
		we *store.WhereError
	)
	return errors.As(err, &ue) || errors.As(err, &be) || errors.As(err, &ge) || errors.As(err, &we) ||
		errors.Is(err, store.ErrNotFound) || errors.Is(err, fs.ErrNotExist)
}

// stringList is a repeatable string flag (--set a=1 --set b=2).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// newFlagSet returns a flag set that reports errors to the caller instead
// of printing them; usage is the text -h prints.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses args with fs, letting flags come after positional
// arguments ("runner run x.toml --set epochs=1 -j 2"): the flag package
// stops at the first non-flag, so parsing resumes after each positional
// argument. "--" ends the flags; everything after it is positional.
//
// It returns the positional arguments, errHelp for -h/--help (the
// caller prints usage to stdout), or a *usageError.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, usageErrorf("%s: %v (see runner %s -h)", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printUsage writes a command's usage text and its flags' defaults.
func printUsage(w io.Writer, fs *flag.FlagSet, text string) {
	fmt.Fprint(w, strings.TrimLeft(text, "\n"))
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
