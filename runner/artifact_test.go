package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/internal/safetensors"
	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// readEncoder parses an encoder file and checks the metadata that ties it
// to its run.
func readEncoder(t *testing.T, path string, d *store.RunDetail, steps string) *safetensors.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Unmarshal(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for k, v := range map[string]string{"format": simclr.EncoderFormat, "config_hash": d.ConfigHash, "seed": "1", "steps": steps,
		"commit": d.Provenance.GitCommit} {
		if f.Metadata[k] != v {
			t.Errorf("%s: metadata %s = %q, want %q", path, k, f.Metadata[k], v)
		}
	}
	for _, name := range []string{"stem.0.weight", "layers.2.sc.1.running_var", "head.2.weight"} {
		if _, ok := f.Tensor(name); !ok {
			t.Errorf("%s: no tensor %s", path, name)
		}
	}
	return f
}

// TestRunSaveEncoder: with save_encoder each finished cell that trains
// keeps its network as an artifact; show lists it, export-encoder copies
// it, and a corrupted or truncated file is reported, never exported.
func TestRunSaveEncoder(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	_, stderr := mustRun(t, 0, "run", "testdata/tiny.toml", "--db", db, "--set", "save_encoder=true")
	if !strings.Contains(stderr, `msg="kept encoder" cell=0 run=1 path=artifacts/tiny/1/encoder.safetensors`) {
		t.Errorf("run log lacks the kept encoder of cell 0:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints")); !os.IsNotExist(err) {
		t.Errorf("checkpoints left after the grid finished (stat: %v)", err)
	}
	artifact := filepath.Join(dir, "artifacts", "tiny", "1", "encoder.safetensors")
	d := getRun(t, db, 1)
	if !d.Config.SaveEncoder || d.ConfigHash != loadGrid(t, "testdata/tiny.toml").Cells[0].Hash {
		t.Errorf("run 1: save_encoder %v, hash %s; want recorded, and the hash of the cell without it", d.Config.SaveEncoder, d.ConfigHash)
	}
	readEncoder(t, artifact, d, "12") // 3 epochs of 4 steps
	if _, err := os.Stat(filepath.Join(dir, "artifacts", "tiny", "2", "encoder.safetensors")); err != nil {
		t.Errorf("cell 1 kept no encoder: %v", err)
	}
	if n := sqlCount(t, db, "SELECT count(*) FROM artifacts"); n != 2 {
		t.Errorf("%d artifacts recorded, want 2 (raw pixels trains no encoder)", n)
	}

	// The same grid without save_encoder is the same cells: all skipped.
	stdout, _ := mustRun(t, 0, "run", "testdata/tiny.toml", "--db", db)
	if !strings.Contains(stdout, "3 skipped") {
		t.Errorf("rerun without save_encoder = %q, want the 3 cells skipped (same cells)", stdout)
	}

	stdout, _ = mustRun(t, 0, "show", "1", "--db", db)
	if !strings.Contains(stdout, "artifacts (paths relative to the database's directory):") ||
		!regexp.MustCompile(`encoder  artifacts/tiny/1/encoder\.safetensors  \d+\.\d kB  sha256 [0-9a-f]{12}  attempt 1  .*  ok\n`).MatchString(stdout) {
		t.Errorf("show 1 lists no intact encoder artifact:\n%s", stdout)
	}
	if stdout, _ = mustRun(t, 0, "show", "3", "--db", db); strings.Contains(stdout, "artifacts") {
		t.Errorf("show 3 (raw pixels) lists artifacts:\n%s", stdout)
	}

	out := filepath.Join(dir, "exported.safetensors")
	stdout, _ = mustRun(t, 0, "export-encoder", "1", "-o", out, "--db", db)
	if !strings.Contains(stdout, "wrote "+out) || !strings.Contains(stdout, "the encoder kept by attempt 1") {
		t.Errorf("export-encoder 1 = %q", stdout)
	}
	want, _ := os.ReadFile(artifact)
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, want) {
		t.Errorf("exported file differs from the artifact (%v)", err)
	}

	// Corrupted, then truncated: show says so, export-encoder fails and
	// writes nothing.
	bad := append([]byte{}, want...)
	bad[len(bad)-1] ^= 1
	for _, c := range []struct {
		name, show, export string
		data               []byte
	}{
		{"flipped bit", "CORRUPT", "SHA-256", bad},
		{"truncated", "CORRUPT", "were recorded (truncated", want[:len(want)/2]},
		{"missing", "MISSING", "no such file", nil},
	} {
		if c.data == nil {
			os.Remove(artifact)
		} else if err := os.WriteFile(artifact, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if stdout, _ := mustRun(t, 0, "show", "1", "--db", db); !strings.Contains(stdout, c.show) {
			t.Errorf("%s: show 1 does not say %s:\n%s", c.name, c.show, stdout)
		}
		out := filepath.Join(dir, c.name+".safetensors")
		code, _, stderr := runMain(t, "export-encoder", "1", "-o", out, "--db", db)
		if code == 0 || !strings.Contains(stderr, c.export) {
			t.Errorf("%s: export-encoder = exit %d, %q; want an error containing %q", c.name, code, stderr, c.export)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: export-encoder wrote %s", c.name, out)
		}
	}
}

// TestExportEncoderFromCheckpoint: a run that kept no encoder exports the
// network of its checkpoint while it has one (interrupted), and is bad
// input once it has none.
func TestExportEncoderFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOn{pattern: "msg=epoch", cancel: cancel}
	m := &Main{Stdout: &syncBuffer{}, Stderr: stderr, Terminal: func() bool { return false }}
	if code := execute(ctx, m, "run", "testdata/tiny.toml", "--db", db); code != 130 {
		t.Fatalf("interrupted run = exit %d, want 130\n%s", code, stderr.String())
	}
	out := filepath.Join(dir, "interrupted.safetensors")
	stdout, _ := mustRun(t, 0, "export-encoder", "1", "-o", out, "--db", db)
	if !strings.Contains(stdout, "the simclr checkpoint after epoch 1 of 3 (interrupted run; not a finished encoder)") {
		t.Errorf("export-encoder of the interrupted run = %q", stdout)
	}
	readEncoder(t, out, getRun(t, db, 1), "4")

	mustRun(t, 0, "run", "testdata/tiny.toml", "--db", db, "--retry-failed")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export-encoder", "1", "-o", filepath.Join(dir, "finished.safetensors")}, "it ran without save_encoder, and it has no checkpoint in " +
			checkpointDir(db, loadGrid(t, "testdata/tiny.toml"), loadGrid(t, "testdata/tiny.toml").Cells[0]) +
			" (finished and failed cells delete theirs); rerun its cell with --set save_encoder=true --force"},
		{[]string{"export-encoder", "3", "-o", filepath.Join(dir, "pixels.safetensors")}, "run 3 is the raw-pixels baseline, which has no encoder"},
	} {
		args := c.args
		code, _, stderr := runMain(t, append(args, "--db", db)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("runner %s = exit %d, %q; want 2 and %q", strings.Join(args, " "), code, stderr, c.want)
		}
		if _, err := os.Stat(args[3]); !os.IsNotExist(err) {
			t.Errorf("runner %s wrote %s", strings.Join(args, " "), args[3])
		}
	}
}

// TestKeepEncoderFailureFailsCell: a cell whose encoder cannot be written
// is recorded failed (and a retry can run it again), not finished
// without the encoder that was asked for.
func TestKeepEncoderFailureFailsCell(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	if err := os.WriteFile(filepath.Join(dir, "artifacts"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runMain(t, "run", "testdata/tiny.toml", "--db", db, "--set", "save_encoder=true")
	if code != 1 || !strings.Contains(stdout, "2 failed") || !strings.Contains(stdout, "keep encoder") {
		t.Errorf("run with an unwritable artifacts directory = exit %d, %q; want 1 and two cells failed to keep their encoder", code, stdout)
	}
	if r := runsByLabel(listRuns(t, db)); r["crop"].Status != store.StatusFailed || r["raw pixels"].Status != store.StatusFinished {
		t.Errorf("statuses = crop %s, raw pixels %s; want failed, finished", r["crop"].Status, r["raw pixels"].Status)
	}
}

func TestExportEncoderUsage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "results.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export-encoder", "1"}, "-o FILE is required"},
		{[]string{"export-encoder", "-o", "x"}, "want one run id"},
		{[]string{"export-encoder", "one", "-o", "x"}, `"one" is not a run id`},
		{[]string{"export-encoder", "1", "-o", t.TempDir()}, "is a directory"},
		{[]string{"export-encoder", "1", "-o", "x", "--db", db}, "no such results database"},
	} {
		code, _, stderr := runMain(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("runner %s = exit %d, %q; want 2 and %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	mustRun(t, 0, "run", "testdata/tiny.toml", "--db", db, "--set", "epochs=1", "--set", "linear_epochs=2")
	code, _, stderr := runMain(t, "export-encoder", "99", "-o", "x", "--db", db)
	if code != 2 || !strings.Contains(stderr, "99") {
		t.Errorf("export-encoder 99 = exit %d, %q; want 2 (no such run)", code, stderr)
	}
}
