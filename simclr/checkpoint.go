package simclr

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
	"github.com/simclr-ablate/simclr-ablate/simclr/optim"
)

const checkpointFile = "checkpoint.gob"

// checkpoint is the state after a completed epoch: enough to continue as if
// never stopped. Views are seeded by (seed, epoch, image), so no RNG stream
// needs saving: the next epoch's views depend only on its number.
type checkpoint struct {
	Kind       string // "simclr" or "supervised"
	ConfigHash string
	Seed       int64
	Epoch      int // last completed epoch, 1-based
	Model      *nn.State
	Optim      *optim.State
	Epochs     []EpochStats
}

// saveCheckpoint writes atomically: a crash leaves the old file or the new
// one, never half of one.
func saveCheckpoint(dir string, ck *checkpoint) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(dir, checkpointFile+".tmp*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := gob.NewEncoder(tmp).Encode(ck); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: encode: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, checkpointFile)); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// loadCheckpoint returns the checkpoint in dir, or nil when there is none
// or it belongs to another config, seed or training kind, or lies beyond
// the training's epochs (then it is ignored, and overwritten after the
// first epoch).
func loadCheckpoint(dir string, cfg *Config, kind string, epochs int) (*checkpoint, error) {
	f, err := os.Open(filepath.Join(dir, checkpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	var ck checkpoint
	if err := gob.NewDecoder(f).Decode(&ck); err != nil {
		return nil, fmt.Errorf("checkpoint %s is unreadable (delete it to start the cell afresh): %w", f.Name(), err)
	}
	if ck.Kind != kind || ck.ConfigHash != cfg.Hash() || ck.Seed != cfg.Seed || ck.Epoch > epochs {
		return nil, nil
	}
	return &ck, nil
}

func removeCheckpoint(dir string) error {
	err := os.Remove(filepath.Join(dir, checkpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
