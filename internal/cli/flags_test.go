package cli

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
)

// testFlags is a flag set with one flag of each kind Parse treats apart:
// a repeatable string, an int, a string and a boolean.
func testFlags(help *bytes.Buffer) (fs *FlagSet, sets *StringList, j *int, db *string, force *bool) {
	fs = NewFlagSet("prog", "cmd", "\nUsage: prog cmd FILE [flags]\n", help)
	sets = new(StringList)
	fs.Var(sets, "set", "a `key=value` (repeatable)")
	j = fs.Int("j", 1, "`N` at once")
	db = fs.String("db", "results.db", "database `file`")
	force = fs.Bool("force", false, "redo everything")
	return fs, sets, j, db, force
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		pos   []string
		sets  []string
		j     int
		db    string
		force bool
	}{
		{"nothing", nil, nil, nil, 1, "results.db", false},
		{"positional only", []string{"x.toml"}, []string{"x.toml"}, nil, 1, "results.db", false},
		{"flags after", []string{"x.toml", "--set", "epochs=1", "-j", "2"}, []string{"x.toml"}, []string{"epochs=1"}, 2, "results.db", false},
		{"flags around", []string{"--set", "a=1", "x.toml", "--set=b=2"}, []string{"x.toml"}, []string{"a=1", "b=2"}, 1, "results.db", false},
		{"flags between", []string{"-j", "3", "x.toml", "--db", "o.db", "y.toml"}, []string{"x.toml", "y.toml"}, nil, 3, "o.db", false},
		{"boolean takes no value", []string{"--force", "x.toml"}, []string{"x.toml"}, nil, 1, "results.db", true},
		{"boolean with =", []string{"x.toml", "-force=true", "false"}, []string{"x.toml", "false"}, nil, 1, "results.db", true},
		{"stdin dash is positional", []string{"-", "--db", "o.db"}, []string{"-"}, nil, 1, "o.db", false},
		{"value starting with dash", []string{"--db", "-x.db", "x.toml"}, []string{"x.toml"}, nil, 1, "-x.db", false},
		{"-- ends flags", []string{"x.toml", "--", "-j", "4"}, []string{"x.toml", "-j", "4"}, nil, 1, "results.db", false},
		{"-- after flags", []string{"-j", "2", "--", "x.toml", "--db", "y"}, []string{"x.toml", "--db", "y"}, nil, 2, "results.db", false},
		{"-- between positionals", []string{"SQL", "--", "x", "--db", "y"}, []string{"SQL", "x", "--db", "y"}, nil, 1, "results.db", false},
		{"-- first", []string{"--", "--force"}, []string{"--force"}, nil, 1, "results.db", false},
		{"-- last", []string{"x.toml", "--force", "--"}, []string{"x.toml"}, nil, 1, "results.db", true},
		{"second -- is positional", []string{"--", "a", "--", "b"}, []string{"a", "--", "b"}, nil, 1, "results.db", false},
		{"-- as a flag's value", []string{"--set", "--", "x.toml", "-j", "2"}, []string{"x.toml"}, []string{"--"}, 2, "results.db", false},
		{"-- after a boolean", []string{"--force", "--", "-j"}, []string{"-j"}, nil, 1, "results.db", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var help bytes.Buffer
			fs, sets, j, db, force := testFlags(&help)
			pos, err := fs.Parse(tt.args)
			if err != nil || !slices.Equal(pos, tt.pos) || !slices.Equal(*sets, tt.sets) || *j != tt.j || *db != tt.db || *force != tt.force {
				t.Errorf("Parse(%q) = %q, %v (set %q, j %d, db %q, force %v), want %q (set %q, j %d, db %q, force %v)",
					tt.args, pos, err, *sets, *j, *db, *force, tt.pos, tt.sets, tt.j, tt.db, tt.force)
			}
			if help.Len() != 0 {
				t.Errorf("Parse(%q) printed %q", tt.args, help.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"x.toml", "--bogus"}, "cmd: flag provided but not defined: -bogus (see prog cmd -h)"},
		{[]string{"-j", "two", "x.toml"}, `cmd: invalid value "two" for flag -j: parse error (see prog cmd -h)`},
		{[]string{"x.toml", "--db"}, "cmd: flag needs an argument: -db (see prog cmd -h)"},
		{[]string{"---db", "x"}, "cmd: bad flag syntax: ---db (see prog cmd -h)"},
		// The first bad flag is the one reported, wherever it is.
		{[]string{"a", "--nope", "b", "-j", "x"}, "cmd: flag provided but not defined: -nope (see prog cmd -h)"},
	}
	for _, tt := range tests {
		var help bytes.Buffer
		fs, _, _, _, _ := testFlags(&help)
		pos, err := fs.Parse(tt.args)
		var ue *UsageError
		if !errors.As(err, &ue) || err.Error() != tt.msg || pos != nil {
			t.Errorf("Parse(%q) = %q, %v, want a *UsageError %q", tt.args, pos, err, tt.msg)
		}
		if ExitCode(err) != ExitBadInput {
			t.Errorf("ExitCode(Parse(%q)) = %d, want %d", tt.args, ExitCode(err), ExitBadInput)
		}
		if help.Len() != 0 {
			t.Errorf("Parse(%q) printed %q on a bad flag, want nothing (the usage is for -h)", tt.args, help.String())
		}
	}
}

func TestParseHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"x.toml", "--help"}, {"-help", "--bogus"}} {
		var help bytes.Buffer
		fs, _, _, _, _ := testFlags(&help)
		_, err := fs.Parse(args)
		if !errors.Is(err, flag.ErrHelp) || ExitCode(err) != ExitOK {
			t.Errorf("Parse(%q) = %v (exit code %d), want flag.ErrHelp (exit code 0)", args, err, ExitCode(err))
		}
		want := "Usage: prog cmd FILE [flags]\n\nFlags:\n  -db file\n    \tdatabase file (default \"results.db\")\n"
		if !strings.HasPrefix(help.String(), want) || !strings.Contains(help.String(), "-set key=value\n") {
			t.Errorf("Parse(%q) printed\n%s\nwant it to start\n%s", args, help.String(), want)
		}
	}
	// After --, -h is an argument.
	var help bytes.Buffer
	fs, _, _, _, _ := testFlags(&help)
	if pos, err := fs.Parse([]string{"--", "-h"}); err != nil || !slices.Equal(pos, []string{"-h"}) || help.Len() != 0 {
		t.Errorf("Parse(-- -h) = %q, %v, printed %q; want [-h] and no help", pos, err, help.String())
	}
}
