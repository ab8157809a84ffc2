// Package store keeps results.db, the SQLite file that records every run of
// every experiment: its config, status, per-epoch metrics and evaluation
// scores. It is the only package of simclr-ablate that speaks SQL.
//
// Open applies the embedded migrations (migration/*.sql, one transaction
// each, counted in PRAGMA user_version and listed in schema_migrations) and
// refuses a file written by a newer build. OpenReadOnly opens an existing
// file for reading only (report query).
//
// A grid cell is experiment + config hash + seed (CellKey). Claim takes a
// cell for one process in one immediate transaction, so two runners on the
// same grid and file never run the same cell; Heartbeat keeps the claim
// fresh, and a running row whose heartbeat is older than
// ClaimPolicy.StaleAfter is taken over. The *DB that claimed a run remembers
// the attempt number: its later writes (Heartbeat, RecordEpoch, Finish,
// MarkFailed) fail with ErrClaimLost once another process has taken the run
// over, instead of mixing two attempts.
//
// A run may keep files beside the database (the trained encoder of a cell
// run with save_encoder): SaveArtifact writes one under Dir()/artifacts/
// and records its path, size and SHA-256 in the artifacts table;
// ReadArtifact and CheckArtifact check a file against them, so a truncated
// or corrupted file is ErrArtifactCorrupt rather than wrong weights.
//
// Every multi-row write is one transaction. Times are stored as UTC RFC 3339
// text with microseconds, so they sort as text. The schema, the run_summary
// view and example queries are documented in schema.md.
//
// Clusters: a file on a network file system (NFS, SMB, Lustre, GPFS,
// CephFS, 9p ...) is refused in WAL mode (NetworkFSError). Each task of a
// cluster run writes its own file with OpenWith(path,
// Options{Rollback: true}) (one writer, no shared memory), and Merge folds
// such files into one, exactly once: runs are keyed by experiment + config
// hash + seed, a cell in both keeps one attempt by a fixed rule and the
// other in run_attempts, artifact files are copied under the runs' new
// ids, and merging a file again adds nothing.
//
// Reads: ListRuns (one row a run, newest first, with a small filter
// language, see RunFilter.Where), GetRun (everything about one run),
// ReportRuns (the same for every run of an experiment, for report build),
// ExportRuns (one row a run with every setting as a column), Query
// (one read-only SQL statement, for report query), and for report serve's
// pages Axes (the settings that vary per experiment), RunSettings (some
// settings of many runs) and GetRuns (several runs as ReportRuns fills
// them).
package store
