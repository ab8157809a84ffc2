// Command runner runs SimCLR ablation grids and records every run in a
// SQLite results database (package store).
//
// Usage:
//
//	runner run FILE.toml [--db results/results.db] [-j N] [--set key=value ...]
//	                     [--retry-failed] [--force] [--dry-run] [--max-cells N]
//	                     [--stale-after 2m] [--progress auto|bars|log]
//	runner plan FILE.toml [--db FILE] [--set key=value ...] [-j N]
//	runner ls [--experiment NAME] [--status S] [--where 'EXPR'] [-n N]
//	runner show RUN_ID
//	runner export [--experiment NAME] --format csv|json|md
//	runner export-encoder RUN_ID -o FILE
//	runner merge SHARD.db... [--into results/results.db] [--partial]
//	runner submit slurm FILE.toml [--shards N] [--max-parallel K] [--time T] ...
//	runner submit k8s FILE.toml --shards N --image IMG
//	runner status FILE.toml
//
// Flags may follow the positional argument, and everything after "--" is
// positional; "runner CMD -h" prints a command's usage and exits 0. The
// flag sets, the exit codes and the errors that choose them are package
// internal/cli's, shared with the report command.
//
// Exit status: 0 success; 1 when a cell failed (after the others were
// run) or on a database error; 2 on bad input (usage errors, grid errors
// from package grid, a missing file, a bad --where); 130 when interrupted
// by SIGINT or SIGTERM.
//
// # run
//
// run reads and validates the whole grid (package grid) before it opens
// the database for writing, so bad input writes nothing, not even the
// database file. Then, for each cell in grid order, with -j workers: Claim
// (the store decides skip, retry, force and stale takeover), simclr.Run
// with a per-epoch checkpoint in <db dir>/checkpoints/<experiment>/<config
// hash>-s<seed>, a heartbeat every --stale-after/4 (a lost claim stops the
// cell), each epoch recorded as it ends (store.RecordSteps,
// store.RecordEpoch), and the outcome: Finish, or MarkFailed with status
// interrupted (context cancelled; checkpoint kept) or failed (error text;
// checkpoint removed so a retry starts afresh). Cell tags (pairwise
// pair_first, pair_second) are stored as params rows (store.SetTags).
// A cell with save_encoder = true keeps the network it trained: before
// Finish, simclr.MarshalEncoder's safetensors file goes to <db
// dir>/artifacts/<experiment>/<run id>/encoder.safetensors and its size and
// SHA-256 to the artifacts table (store.SaveArtifact); a cell whose encoder
// cannot be kept is recorded failed. Provenance (git commit and dirty
// flag, Go version, GOMAXPROCS, host, pid) is recorded with every attempt. A summary with the counts, the failures
// and the wall time goes to stdout at the end.
//
// Progress goes to stderr: on a terminal, live bars (github.com/vbauerster/mpb)
// for the grid and each running cell; otherwise log/slog text lines, one
// per cell start, epoch and end.
//
// # plan, ls, show, export, export-encoder
//
// plan prints grid.WritePlan's table plus each cell's status, run id and
// estimated time from the database (opened read-only, never created).
// ls, show and export read the database read-only through
// store.ListRuns, store.GetRun and store.ExportRuns; show also lists the
// run's artifacts, each checked against its size and SHA-256.
// export-encoder copies a run's encoder artifact after that check, or
// writes the network of an interrupted run's checkpoint
// (simclr.ReadCheckpoint); a run with neither is bad input.
//
// # On a cluster: run --shard, merge, submit, status
//
// A grid is split into shards by partition (longest processing time
// first over the cells' estimated costs, so every task computes the same
// split); run --shard I/N, or a Slurm array task or Indexed Job pod
// detected from its environment, runs one shard into its own database
// (rollback journal, one writer: safe on shared storage) under
// results/shards/<experiment>/. merge folds shard databases into one
// (store.Merge: idempotent, one transaction a shard). submit slurm writes
// the shard map, the array and merge scripts (templates/), submits them
// with sbatch and returns; submit k8s prints an Indexed Job manifest.
// status reads the shard databases read-only. A WAL database on a network
// file system is refused (store.NetworkFSError).
//
// Main runs the program with its own stdout and stderr and returns an
// error, so tests drive it in-process; main.go only sets up signal
// handling and GOGC, prints the error and exits with cli.ExitCode. The
// subprocess tests build the binary once.
package main
