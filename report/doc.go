// Command report turns results.db into what a researcher reads.
//
//	report build [--db results/results.db] [--out results/] [--experiment NAME ...]
//	report query 'SQL' [--db results/results.db] [--format table|csv|json]
//	report serve [--db results/results.db] [--addr 127.0.0.1:8080]
//
// build writes report.md and the PNG figures it links to into --out: per
// experiment the seed document's F1 table, the SimCLR paper's figures
// redrawn from the runs (Figure 5's pairwise heat map, projection heads,
// Figure 9's batch size × epochs lines), pretraining curves, the best
// cell's confusion matrix and the runs that did not finish; at the top,
// provenance, how to read the statistics and a verdict on each of the
// paper's three findings (see package report/document). The files are
// written into a temporary directory inside --out and renamed into place
// only when all of them are complete, so a failure leaves no partial file.
//
// query runs one read-only SQL statement (store.Query: anything that
// would write, ATTACH, PRAGMA or several statements is refused and the
// database is unchanged) on a database opened read-only.
//
// serve answers a local web page of the database until interrupted (see
// package report/serve): the experiments and their runs, sortable and
// filterable by experiment, status and any setting; a page per run with
// its scores, per-epoch curves, confusion matrix, config and provenance;
// and 2 to 10 runs compared side by side. It opens the database read-only,
// so it can run while a runner writes; new runs appear on reload. Like
// mlflow ui it listens on 127.0.0.1 by default and then answers only
// requests addressed to localhost or a loopback address; --addr
// 0.0.0.0:8080 (or any other address) serves the network, without a
// login, and says so when it starts.
//
// Exit codes: 0 success; 2 bad input (bad flags or arguments, a missing
// database, a schema this build does not know, an unknown experiment, a
// database without runs, refused or invalid SQL); 1 any other failure
// (including a database whose runs all failed).
//
// Flags may come before or after the arguments; everything after "--" is
// an argument, never a flag (so a statement that starts with a "--"
// comment goes after a "--"). The flag sets, the exit codes and the errors that choose
// them are package internal/cli's, shared with the runner. Main.Run
// returns an error; main.go only sets up signal handling, prints the error
// and exits with cli.ExitCode. Each subcommand lives in its own file and
// is driven in-process by the tests through Main.
package main
