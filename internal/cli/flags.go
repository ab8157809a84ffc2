package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// FlagSet is the flags of one subcommand ("runner run") and the usage
// text its -h prints.
type FlagSet struct {
	*flag.FlagSet
	program string
	usage   string
	help    io.Writer
}

// NewFlagSet returns the flag set of the subcommand command of program.
// Parse reports flag errors as *UsageError, printing nothing; on -h it
// writes usage, a blank line, "Flags:" and the flags' defaults to help.
// usage's leading newlines are dropped, so it may be a raw string that
// starts on the line after the backquote.
func NewFlagSet(program, command, usage string, help io.Writer) *FlagSet {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // printed by Parse, for -h only
	return &FlagSet{FlagSet: fs, program: program, usage: usage, help: help}
}

// Parse parses args, which may mix flags and positional arguments in any
// order ("x.toml --set epochs=1 -j 2 y.toml"), and returns the positional
// ones in order. A flag's value is the next argument unless the flag is
// boolean or written -flag=value, as in the flag package. "--" ends the
// flags: every argument after it is positional, even one that starts
// with "-".
//
// On -h or --help, Parse writes the usage text to the help writer and
// returns flag.ErrHelp (ExitCode maps it to ExitOK). Any other flag error
// is a *UsageError: "command: error (see program command -h)".
func (fs *FlagSet) Parse(args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		if fs.takesValue(a) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	// flags holds only flags and their values, so the flag package
	// parses all of it (or stops at the first error).
	if err := fs.FlagSet.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.PrintUsage()
			return nil, flag.ErrHelp
		}
		return nil, Usagef("%s: %v (see %s %s -h)", fs.Name(), err, fs.program, fs.Name())
	}
	return pos, nil
}

// takesValue reports whether the flag argument a ("-j", "--db") takes the
// next argument as its value: a defined flag that is not boolean, written
// without "=". Anything else the flag package reports or parses alone.
func (fs *FlagSet) takesValue(a string) bool {
	name := strings.TrimPrefix(a[1:], "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// PrintUsage writes the usage text and the flags' defaults to the help
// writer.
func (fs *FlagSet) PrintUsage() {
	w := fs.help
	fmt.Fprint(w, strings.TrimLeft(fs.usage, "\n"))
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// StringList is a repeatable string flag: "--set a=1 --set b=2" gives
// [a=1 b=2].
type StringList []string

func (s *StringList) String() string     { return strings.Join(*s, " ") }
func (s *StringList) Set(v string) error { *s = append(*s, v); return nil }
