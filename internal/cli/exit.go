package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Exit codes of the commands.
const (
	ExitOK          = 0
	ExitFailure     = 1   // anything not bad input: a failed cell, an I/O or database error
	ExitBadInput    = 2   // usage errors, bad files, missing files
	ExitInterrupted = 130 // SIGINT or SIGTERM
)

// UsageError is a command line the command cannot act on: exit code 2.
type UsageError struct {
	// Msg is the one-line message, with a hint where one helps.
	Msg string
	// Usage, when set, is printed in full by PrintError instead of Msg:
	// a command line with no command at all gets the whole usage text.
	Usage string
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// marked is an error with an exit code, keeping the chain of the error it
// marks for errors.Is and errors.As.
type marked struct {
	err  error
	code int
}

func (e *marked) Error() string { return e.err.Error() }
func (e *marked) Unwrap() error { return e.err }

// BadInput marks err as the user's to fix by changing the command line or
// a file: exit code 2. BadInput(nil) is nil.
func BadInput(err error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, code: ExitBadInput}
}

// Interrupted marks err as the result of an interruption (a cancelled
// context after SIGINT or SIGTERM): exit code 130. Interrupted(nil) is
// nil.
func Interrupted(err error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, code: ExitInterrupted}
}

// ExitCode returns the exit code for err: ExitOK for nil and for
// flag.ErrHelp (help was asked for and printed), else the code of the
// outermost mark (Interrupted, BadInput), else ExitBadInput for a
// *UsageError or a missing file (fs.ErrNotExist), else ExitFailure.
func ExitCode(err error) int {
	var (
		m  *marked
		ue *UsageError
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &m):
		return m.code
	case errors.As(err, &ue), errors.Is(err, fs.ErrNotExist):
		return ExitBadInput
	}
	return ExitFailure
}

// PrintError writes err to w as one line, "program: message" (the first
// line of a longer message, then " ..."), or the full usage text of a
// *UsageError that has one. It writes nothing for the errors ExitCode
// maps to ExitOK.
func PrintError(w io.Writer, program string, err error) {
	if ExitCode(err) == ExitOK {
		return
	}
	var ue *UsageError
	if errors.As(err, &ue) && ue.Usage != "" {
		fmt.Fprint(w, ue.Usage)
		return
	}
	fmt.Fprintln(w, program+": "+OneLine(err.Error()))
}

// OneLine returns the first line of a message, followed by " ..." when
// there was more: a user reads one line (a database keeps the whole text).
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
