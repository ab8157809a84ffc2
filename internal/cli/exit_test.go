package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"testing"
)

func TestExitCode(t *testing.T) {
	_, notExist := os.Open("/nonexistent/results.db")
	tests := []struct {
		name string
		err  error
		code int
		line string // what PrintError writes
	}{
		{"nil", nil, ExitOK, ""},
		{"help", flag.ErrHelp, ExitOK, ""},
		{"wrapped help", fmt.Errorf("run: %w", flag.ErrHelp), ExitOK, ""},
		{"failure", errors.New("disk full"), ExitFailure, "prog: disk full\n"},
		{"context cancelled, unmarked", context.Canceled, ExitFailure, "prog: context canceled\n"},
		{"usage", Usagef("run: want one grid file, got %d arguments", 2), ExitBadInput, "prog: run: want one grid file, got 2 arguments\n"},
		{"wrapped usage", fmt.Errorf("x: %w", Usagef("bad")), ExitBadInput, "prog: x: bad\n"},
		{"marked bad input", BadInput(errors.New("grid.toml:3: unknown key")), ExitBadInput, "prog: grid.toml:3: unknown key\n"},
		{"missing file", notExist, ExitBadInput, "prog: open /nonexistent/results.db: no such file or directory\n"},
		{"interrupted", Interrupted(fmt.Errorf("cell 3: %w", context.Canceled)), ExitInterrupted, "prog: cell 3: context canceled\n"},
		{"interrupted outside bad input", Interrupted(BadInput(errors.New("x"))), ExitInterrupted, "prog: x\n"},
		{"multi-line", errors.New("first\nsecond\n"), ExitFailure, "prog: first ...\n"},
		{"usage text", &UsageError{Msg: "no command given", Usage: "Usage:\n  prog CMD\n"}, ExitBadInput, "Usage:\n  prog CMD\n"},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.code {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", tt.name, tt.err, got, tt.code)
		}
		var w bytes.Buffer
		PrintError(&w, "prog", tt.err)
		if w.String() != tt.line {
			t.Errorf("%s: PrintError(%v) wrote %q, want %q", tt.name, tt.err, w.String(), tt.line)
		}
	}
}

// The marks keep the chain of the error they mark.
func TestMarksUnwrap(t *testing.T) {
	err := BadInput(fmt.Errorf("open x: %w", fs.ErrNotExist))
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != "open x: file does not exist" {
		t.Errorf("BadInput(err) = %q, loses its chain", err)
	}
	if BadInput(nil) != nil || Interrupted(nil) != nil {
		t.Errorf("BadInput(nil) or Interrupted(nil) is not nil")
	}
}
