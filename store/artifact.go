package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"
)

// Artifact kinds.
const (
	// ArtifactEncoder is a cell's trained network as safetensors
	// (simclr.MarshalEncoder), kept when the cell's config has
	// save_encoder = true.
	ArtifactEncoder = "encoder"
)

// ErrArtifactCorrupt: an artifact's file is not the one recorded: its size
// or SHA-256 differs (truncated, overwritten, corrupted on disk).
var ErrArtifactCorrupt = errors.New("artifact corrupt")

// Artifact is a file a run keeps beside the database, as the artifacts
// table records it.
type Artifact struct {
	RunID     int64
	Kind      string // ArtifactEncoder
	Path      string // relative to the database's directory, '/'-separated
	Size      int64  // bytes
	SHA256    string // hex
	Attempt   int    // the run's attempt that wrote it
	CreatedAt time.Time
}

// ArtifactPath is where a run's artifact file goes, relative to the
// database's directory: artifacts/<experiment>/<run id>/<file>.
func ArtifactPath(experiment string, runID int64, file string) string {
	return path.Join("artifacts", experiment, strconv.FormatInt(runID, 10), file)
}

// Dir returns the directory of the database file: artifact paths are
// relative to it.
func (db *DB) Dir() string { return filepath.Dir(db.path) }

// SaveArtifact writes data to rel (relative to Dir, '/'-separated, see
// ArtifactPath) and records it as the run's artifact of that kind, with
// its size and SHA-256, replacing an earlier attempt's. The file is
// written to a temporary name and renamed into place only once the row is
// recorded, so a process that has lost the run (ErrClaimLost: only a run
// this DB claimed and still runs may record) leaves no file behind.
func (db *DB) SaveArtifact(ctx context.Context, runID int64, kind, rel string, data []byte) (Artifact, error) {
	op := "save " + kind + " artifact"
	if err := db.writable(op); err != nil {
		return Artifact{}, err
	}
	full, err := db.artifactFile(rel)
	if err != nil {
		return Artifact{}, fmt.Errorf("%s of run %d: %w", op, runID, err)
	}
	sum := sha256.Sum256(data)
	a := Artifact{RunID: runID, Kind: kind, Path: rel, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}

	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return Artifact{}, fmt.Errorf("%s of run %d: %w", op, runID, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(full), filepath.Base(full)+".tmp*")
	if err != nil {
		return Artifact{}, fmt.Errorf("%s of run %d: %w", op, runID, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Artifact{}, fmt.Errorf("%s of run %d: %w", op, runID, err)
	}

	err = db.ownedWrite(ctx, op, runID, func(tx *sql.Tx, ts string) error {
		if err := tx.QueryRowContext(ctx, `SELECT attempt FROM runs WHERE id = ?`, runID).Scan(&a.Attempt); err != nil {
			return err
		}
		a.CreatedAt, _ = time.Parse(time.RFC3339Nano, ts)
		_, err := tx.ExecContext(ctx, `
			INSERT INTO artifacts (run_id, kind, path, size, sha256, attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, kind) DO UPDATE SET path = excluded.path, size = excluded.size,
				sha256 = excluded.sha256, attempt = excluded.attempt, created_at = excluded.created_at`,
			runID, kind, rel, a.Size, a.SHA256, a.Attempt, ts)
		return err
	})
	if err != nil {
		return Artifact{}, err
	}
	if err := os.Rename(tmp.Name(), full); err != nil {
		return Artifact{}, fmt.Errorf("%s of run %d: %w", op, runID, err)
	}
	return a, nil
}

// Artifacts returns the run's artifacts, by kind; none is an empty list.
func (db *DB) Artifacts(ctx context.Context, runID int64) ([]Artifact, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT run_id, kind, path, size, sha256, attempt, created_at FROM artifacts WHERE run_id = ? ORDER BY kind`, runID)
	if err != nil {
		return nil, fmt.Errorf("artifacts of run %d in %s: %w", runID, db.path, err)
	}
	defer rows.Close()
	var out []Artifact
	for rows.Next() {
		var (
			a       Artifact
			created sql.NullString
		)
		if err := rows.Scan(&a.RunID, &a.Kind, &a.Path, &a.Size, &a.SHA256, &a.Attempt, &created); err != nil {
			return nil, fmt.Errorf("artifacts of run %d in %s: %w", runID, db.path, err)
		}
		if a.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("artifacts of run %d in %s: %w", runID, db.path, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("artifacts of run %d in %s: %w", runID, db.path, err)
	}
	return out, nil
}

// Artifact returns the run's artifact of kind, or an error wrapping
// ErrNotFound.
func (db *DB) Artifact(ctx context.Context, runID int64, kind string) (Artifact, error) {
	all, err := db.Artifacts(ctx, runID)
	if err != nil {
		return Artifact{}, err
	}
	for _, a := range all {
		if a.Kind == kind {
			return a, nil
		}
	}
	return Artifact{}, fmt.Errorf("run %d has no %s artifact in %s: %w", runID, kind, db.path, ErrNotFound)
}

// ReadArtifact returns the contents of a's file after checking them
// against the recorded size and SHA-256: a missing file is an error
// wrapping fs.ErrNotExist, a truncated or altered one ErrArtifactCorrupt.
func (db *DB) ReadArtifact(a Artifact) ([]byte, error) {
	full, err := db.artifactFile(a.Path)
	if err != nil {
		return nil, fmt.Errorf("artifact of run %d: %w", a.RunID, err)
	}
	if err := checkSize(full, a); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(full)
	if err != nil {
		return nil, fmt.Errorf("artifact of run %d: %w", a.RunID, err)
	}
	if err := checkSum(full, a, bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return b, nil
}

// CheckArtifact checks a's file against the recorded size and SHA-256, as
// ReadArtifact does, without keeping its contents.
func (db *DB) CheckArtifact(a Artifact) error {
	full, err := db.artifactFile(a.Path)
	if err != nil {
		return fmt.Errorf("artifact of run %d: %w", a.RunID, err)
	}
	if err := checkSize(full, a); err != nil {
		return err
	}
	f, err := os.Open(full)
	if err != nil {
		return fmt.Errorf("artifact of run %d: %w", a.RunID, err)
	}
	defer f.Close()
	return checkSum(full, a, f)
}

// artifactFile resolves a stored path against the database's directory.
// A path that would leave it (absolute, or with ..) is refused: the
// database file may come from someone else.
func (db *DB) artifactFile(rel string) (string, error) {
	p := filepath.FromSlash(rel)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("artifact path %q is not inside the database's directory", rel)
	}
	return filepath.Join(db.Dir(), p), nil
}

func checkSize(full string, a Artifact) error {
	fi, err := os.Stat(full)
	if err != nil {
		return fmt.Errorf("%s artifact of run %d: %w", a.Kind, a.RunID, err)
	}
	if fi.Size() != a.Size {
		return fmt.Errorf("%s artifact of run %d: %s has %d bytes, %d were recorded (truncated or overwritten): %w",
			a.Kind, a.RunID, full, fi.Size(), a.Size, ErrArtifactCorrupt)
	}
	return nil
}

func checkSum(full string, a Artifact, r io.Reader) error {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("%s artifact of run %d: %w", a.Kind, a.RunID, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 {
		return fmt.Errorf("%s artifact of run %d: %s has SHA-256 %s, %s was recorded (corrupted): %w",
			a.Kind, a.RunID, full, got, a.SHA256, ErrArtifactCorrupt)
	}
	return nil
}
