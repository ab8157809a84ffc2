// Package cli is what the runner and report commands share on their
// command line: the exit codes, the errors that choose them, and flag
// parsing that lets flags follow positional arguments.
//
// Exit codes are ExitOK (0), ExitFailure (1), ExitBadInput (2: usage
// errors and anything else the user fixes by changing the command line or
// a file) and ExitInterrupted (130: SIGINT or SIGTERM). A command's Main
// returns errors; its main function prints one with PrintError and exits
// with ExitCode. An error picks its code by what it wraps: a *UsageError
// or an error marked with BadInput is bad input, one marked with
// Interrupted is an interruption, and fs.ErrNotExist (a missing file) is
// bad input too. Each command marks its own packages' bad-input errors
// (grid errors, refused SQL, ...) before it returns them.
//
// Each subcommand has a FlagSet, the standard library's flag.FlagSet plus
// its usage text, as the Go tools have. The flag package stops at the
// first non-flag argument; FlagSet.Parse takes flags anywhere ("runner run
// x.toml -j 2") and treats everything after "--" as positional, never as
// a flag. No CLI library is needed for a handful of subcommands with a
// handful of flags each.
package cli
