package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestArtifactPath(t *testing.T) {
	if got, want := ArtifactPath("seed_table", 12, "encoder.safetensors"), "artifacts/seed_table/12/encoder.safetensors"; got != want {
		t.Errorf("ArtifactPath = %q, want %q", got, want)
	}
}

func TestSaveArtifact(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	expID := mustExperiment(t, db, "e")
	cfg := testConfig(1)
	id := mustClaim(t, db, expID, "l", cfg)
	rel := ArtifactPath("e", id, "encoder.safetensors")
	data := []byte("weights of attempt 1")

	a, err := db.SaveArtifact(ctx, id, ArtifactEncoder, rel, data)
	if err != nil {
		t.Fatalf("SaveArtifact = %v", err)
	}
	sum := sha256.Sum256(data)
	want := Artifact{RunID: id, Kind: ArtifactEncoder, Path: rel, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Attempt: 1, CreatedAt: a.CreatedAt}
	if a != want || a.CreatedAt.IsZero() {
		t.Errorf("SaveArtifact = %+v, want %+v", a, want)
	}
	if got, err := os.ReadFile(filepath.Join(db.Dir(), "artifacts", "e", "1", "encoder.safetensors")); err != nil || string(got) != string(data) {
		t.Errorf("file = %q, %v; want %q", got, err, data)
	}
	if got, err := db.Artifacts(ctx, id); err != nil || len(got) != 1 || got[0] != a {
		t.Errorf("Artifacts = %+v, %v; want [%+v]", got, err, a)
	}
	if got, err := db.ReadArtifact(a); err != nil || string(got) != string(data) {
		t.Errorf("ReadArtifact = %q, %v", got, err)
	}
	if err := db.CheckArtifact(a); err != nil {
		t.Errorf("CheckArtifact = %v", err)
	}
	if _, err := db.Artifact(ctx, id, "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Artifact(other kind) = %v, want ErrNotFound", err)
	}
	if got, err := db.Artifacts(ctx, id+1); err != nil || len(got) != 0 {
		t.Errorf("Artifacts(no such run) = %v, %v; want none", got, err)
	}

	// A finished run is no longer this process's to write: refused, and
	// no file (or temporary file) is left.
	if err := db.Finish(ctx, id, result()); err != nil {
		t.Fatal(err)
	}
	late := ArtifactPath("e", id, "late.safetensors")
	if _, err := db.SaveArtifact(ctx, id, "late", late, data); !errors.Is(err, ErrClaimLost) {
		t.Errorf("SaveArtifact on a finished run = %v, want ErrClaimLost", err)
	}
	if es, _ := os.ReadDir(filepath.Join(db.Dir(), "artifacts", "e", "1")); len(es) != 1 {
		t.Errorf("files after the refused save = %v, want only encoder.safetensors", es)
	}

	// A later attempt replaces the row.
	if _, claimed, _, err := db.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{Force: true}); err != nil || !claimed {
		t.Fatalf("Claim --force = %v, %v", claimed, err)
	}
	b, err := db.SaveArtifact(ctx, id, ArtifactEncoder, rel, []byte("attempt 2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Artifact(ctx, id, ArtifactEncoder); err != nil || got != b || got.Attempt != 2 || got.Size != 9 {
		t.Errorf("Artifact after attempt 2 = %+v, %v; want %+v at attempt 2", got, err, b)
	}
	if n := countRows(t, db, "artifacts", ""); n != 1 {
		t.Errorf("%d artifact rows, want 1", n)
	}

	if _, err := db.SaveArtifact(ctx, id, ArtifactEncoder, "../outside", data); err == nil || !strings.Contains(err.Error(), "not inside") {
		t.Errorf("SaveArtifact(../outside) = %v, want refused", err)
	}
	ro, err := OpenReadOnly(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.SaveArtifact(ctx, id, ArtifactEncoder, rel, data); err == nil {
		t.Error("SaveArtifact on a read-only DB = nil error")
	}
	if got, err := ro.Artifacts(ctx, id); err != nil || len(got) != 1 {
		t.Errorf("Artifacts on the read-only DB = %v, %v", got, err)
	}
}

// TestArtifactCorruption: a truncated, altered or missing file, or a
// recorded path that leaves the database's directory, is an error on
// read, never the wrong bytes.
func TestArtifactCorruption(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	id := mustClaim(t, db, mustExperiment(t, db, "e"), "l", testConfig(1))
	data := []byte("0123456789abcdef")
	a, err := db.SaveArtifact(ctx, id, ArtifactEncoder, ArtifactPath("e", id, "encoder.safetensors"), data)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(db.Dir(), filepath.FromSlash(a.Path))
	for _, c := range []struct {
		name  string
		write []byte // nil: remove the file
		is    error
		msg   string
	}{
		{"truncated", data[:10], ErrArtifactCorrupt, "has 10 bytes, 16 were recorded"},
		{"flipped byte", append([]byte("X"), data[1:]...), ErrArtifactCorrupt, "SHA-256"},
		{"appended", append(append([]byte{}, data...), '!'), ErrArtifactCorrupt, "has 17 bytes"},
		{"missing", nil, fs.ErrNotExist, "no such file"},
	} {
		if c.write == nil {
			os.Remove(file)
		} else if err := os.WriteFile(file, c.write, 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := db.ReadArtifact(a); !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) || b != nil {
			t.Errorf("%s: ReadArtifact = %q, %v; want %v containing %q", c.name, b, err, c.is, c.msg)
		}
		if err := db.CheckArtifact(a); !errors.Is(err, c.is) {
			t.Errorf("%s: CheckArtifact = %v, want %v", c.name, err, c.is)
		}
	}
	for _, p := range []string{"../results.db", "/etc/passwd", "artifacts/../../x"} {
		b := a
		b.Path = p
		if _, err := db.ReadArtifact(b); err == nil || !strings.Contains(err.Error(), "not inside") {
			t.Errorf("ReadArtifact(path %q) = %v, want refused", p, err)
		}
	}
}
