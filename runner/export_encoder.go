package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// ExportEncoderCommand is `runner export-encoder`: a run's trained
// encoder as a safetensors file for PyTorch.
type ExportEncoderCommand struct {
	Stdout io.Writer
	Stderr io.Writer
}

const exportEncoderUsage = `
Usage: runner export-encoder RUN_ID -o FILE [flags]

Writes the trained encoder (and projection head, or classifier) of a run
as safetensors, under the names and layouts of PyTorch's module in
bench/torch_simclr_step.py (docs/artifacts.md has the loading code):

  - the encoder the run kept (save_encoder = true), copied after checking
    it against the size and SHA-256 the database recorded;
  - else, for a run that still has its checkpoint (an interrupted run;
    finished and failed cells delete theirs), the network of its last
    completed epoch.

A run with neither is an error (exit status 2): rerun its cell with
--set save_encoder=true --force. A corrupted file is an error too, and FILE
is not written.
`

// Run runs the command.
func (c *ExportEncoderCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "export-encoder", exportEncoderUsage, c.Stdout)
	dbPath := fs.String("db", defaultDB, "results database `file`")
	out := fs.String("o", "", "write the encoder to `FILE` (required)")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("export-encoder: want one run id, got %d arguments (usage: runner export-encoder RUN_ID -o FILE)", len(pos))
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return cli.Usagef("export-encoder: %q is not a run id (a positive integer, as in the first column of runner ls)", pos[0])
	}
	if *out == "" {
		return cli.Usagef("export-encoder: -o FILE is required (usage: runner export-encoder RUN_ID -o FILE)")
	}
	if fi, err := os.Stat(*out); err == nil && fi.IsDir() {
		return cli.Usagef("export-encoder: -o %s is a directory, not a file", *out)
	}
	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := db.GetRun(ctx, id)
	if err != nil {
		return err
	}

	data, from, err := runEncoder(ctx, db, d)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, data); err != nil {
		return fmt.Errorf("export-encoder: %w", err)
	}
	fmt.Fprintf(c.Stdout, "run %d (%s / %s, seed %d): wrote %s, %s, %s\n", d.ID, d.Experiment, d.Label, d.Seed, *out, formatBytes(int64(len(data))), from)
	return nil
}

// runEncoder returns the run's encoder file and where it came from: its
// artifact, else its checkpoint.
func runEncoder(ctx context.Context, db *store.DB, d *store.RunDetail) ([]byte, string, error) {
	a, err := db.Artifact(ctx, d.ID, store.ArtifactEncoder)
	if err == nil {
		b, err := db.ReadArtifact(a)
		if err != nil {
			return nil, "", fmt.Errorf("export-encoder: %w", err)
		}
		return b, fmt.Sprintf("the encoder kept by attempt %d (%s, SHA-256 checked)", a.Attempt, a.Path), nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, "", err
	}

	if d.Config.Method == simclr.MethodRawPixels {
		return nil, "", fmt.Errorf("export-encoder: run %d is the %s baseline, which has no encoder: %w", d.ID, simclr.MethodRawPixels, store.ErrNotFound)
	}
	ckDir := cellCheckpointDir(filepath.Join(db.Dir(), "checkpoints", d.Experiment), d.ConfigHash, d.Seed)
	ck, err := simclr.ReadCheckpoint(ckDir)
	if errors.Is(err, fs.ErrNotExist) {
		why := "it ran without save_encoder"
		if d.Config.SaveEncoder {
			why = "its " + d.Status + " attempt kept none"
		}
		return nil, "", fmt.Errorf("export-encoder: run %d (%s) kept no encoder: %s, and it has no checkpoint in %s "+
			"(finished and failed cells delete theirs); rerun its cell with --set save_encoder=true --force: %w",
			d.ID, d.Status, why, ckDir, store.ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("export-encoder: %w", err)
	}
	if ck.ConfigHash != d.ConfigHash || ck.Seed != d.Seed {
		return nil, "", fmt.Errorf("export-encoder: the checkpoint in %s is of config %s seed %d, not run %d's (config %s seed %d)",
			ckDir, ck.ConfigHash, ck.Seed, d.ID, d.ConfigHash, d.Seed)
	}
	b, err := simclr.MarshalEncoder(ck.Model, simclr.EncoderInfo{
		ConfigHash: d.ConfigHash,
		Seed:       d.Seed,
		Commit:     d.Provenance.GitCommit,
		Dirty:      d.Provenance.GitDirty,
		Steps:      ck.Steps,
	})
	if err != nil {
		return nil, "", err
	}
	return b, fmt.Sprintf("the %s checkpoint after epoch %d of %d (%s run; not a finished encoder)", ck.Kind, ck.Epoch, d.Config.Epochs, d.Status), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory: a failure leaves no partial file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
