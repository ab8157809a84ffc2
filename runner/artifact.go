package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// encoderFile is the file name of a kept encoder, in
// <db dir>/artifacts/<experiment>/<run id>/.
const encoderFile = "encoder.safetensors"

// cellCheckpointDir is where a cell keeps its per-epoch checkpoint while it
// runs (and after it is interrupted): ckRoot/<config hash>-s<seed>, ckRoot
// being <db dir>/checkpoints/<experiment>.
func cellCheckpointDir(ckRoot, hash string, seed int64) string {
	return filepath.Join(ckRoot, hash+"-s"+strconv.FormatInt(seed, 10))
}

// keepEncoder records the network a cell trained as the run's encoder
// artifact (save_encoder = true), before the run is marked finished: a
// cell whose encoder cannot be kept fails, and can be rerun.
func (r *gridRun) keepEncoder(ctx context.Context, c *grid.Cell, runID int64, st *nn.State, res *simclr.Result) error {
	b, err := simclr.MarshalEncoder(st, simclr.EncoderInfo{
		ConfigHash: c.Hash,
		Seed:       c.Config.Seed,
		Commit:     r.prov.GitCommit,
		Dirty:      r.prov.GitDirty,
		Steps:      trainingSteps(res),
	})
	if err != nil {
		return fmt.Errorf("keep encoder: %w", err)
	}
	a, err := r.db.SaveArtifact(ctx, runID, store.ArtifactEncoder, r.artifactPath(runID, encoderFile), b)
	if err != nil {
		return fmt.Errorf("keep encoder: %w", err)
	}
	r.log.Info("kept encoder", "cell", c.Index, "run", runID, "path", a.Path, "bytes", a.Size)
	return nil
}

// artifactPath is where a run's artifact file goes, relative to the
// database's directory: store.ArtifactPath, with the shard's name under the
// experiment for a shard (artifacts/<experiment>/<I>-of-<N>/<run id>/):
// the shards of an experiment share a directory and their run ids
// overlap. runner merge copies them under the merged runs' ids.
func (r *gridRun) artifactPath(runID int64, file string) string {
	exp := r.grid.Name
	if r.shard != "" {
		exp = path.Join(exp, r.shard)
	}
	return store.ArtifactPath(exp, runID, file)
}

// trainingSteps is the number of training steps of a result's epochs (0
// for random-init): the BatchNorm layers' num_batches_tracked.
func trainingSteps(res *simclr.Result) int64 {
	var n int64
	if res != nil {
		for _, e := range res.Epochs {
			n += int64(e.Steps)
		}
	}
	return n
}

// writeArtifacts prints the run's artifacts for runner show, each checked
// against its recorded size and SHA-256.
func writeArtifacts(w io.Writer, db *store.DB, arts []store.Artifact) error {
	if len(arts) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(bw, "\nartifacts (paths relative to the database's directory):")
	for _, a := range arts {
		state := "ok"
		switch err := db.CheckArtifact(a); {
		case errors.Is(err, fs.ErrNotExist):
			state = "MISSING"
		case errors.Is(err, store.ErrArtifactCorrupt):
			state = "CORRUPT (size or SHA-256 differs from the recorded)"
		case err != nil:
			state = "unreadable: " + err.Error()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\tsha256 %s\tattempt %d\t%s\t%s\n", a.Kind, a.Path, formatBytes(a.Size),
			a.SHA256[:min(12, len(a.SHA256))], a.Attempt, formatTime(a.CreatedAt), state)
	}
	tw.Flush()
	return bw.Flush()
}

// formatBytes prints a size in B, kB or MB.
func formatBytes(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000*1000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + " kB"
	}
	return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
}
