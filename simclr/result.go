package simclr

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

// The records of a run live in package metrics (plain numbers, no
// engine); these are their names as the engine uses them.
type (
	EpochStats = metrics.EpochStats
	StepStats  = metrics.StepStats
	Evaluation = metrics.Evaluation
	Seconds    = metrics.Seconds
	Result     = metrics.Result
)

// Hooks connect a running cell to its caller. Every field may be zero.
type Hooks struct {
	OnEpoch func(EpochStats)
	OnStep  func(StepStats)
	// OnPhase names what the cell is doing now ("pretrain", "features",
	// "linear", "finetune 0.1", ...), for progress display.
	OnPhase func(phase string)
	// Checkpoint is a directory for per-epoch state. When it holds a
	// checkpoint of the same config, Run resumes from it.
	Checkpoint string
	// OnTrained receives the network the cell trained, once training ends
	// and before evaluation: the encoder with its projection head
	// (simclr), with its classifier (supervised), or untrained
	// (random-init); raw-pixels has none. Nothing changes the state
	// afterwards; MarshalEncoder writes it for PyTorch.
	OnTrained func(*nn.State)
	Logger    *slog.Logger

	// ReleaseMemory is called where the cell has just made most of its
	// heap garbage and is about to allocate again: before it loads its
	// dataset (the garbage a previous cell left) and once it has cut the
	// parts it keeps from the training set (the full set), with
	// returnPages true; after pretraining (the training network), with
	// returnPages false, since evaluation builds its networks in the
	// pages freed. Run leaves the process's memory to its caller: a
	// process that runs one cell at a time calls debug.FreeOSMemory when
	// returnPages, else runtime.GC, so that the cell's peak resident
	// memory is its own and not its predecessors'; one that runs several
	// at once may not want to stop them all.
	ReleaseMemory func(returnPages bool)
}

// ErrNaNLoss is returned (wrapped in a *DivergedError) when the training
// loss becomes NaN or infinite.
var ErrNaNLoss = errors.New("loss is not finite")

// DivergedError says where training diverged.
type DivergedError struct {
	Epoch, Step int
	Loss        float64
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("training diverged at epoch %d step %d: loss = %v", e.Epoch, e.Step, e.Loss)
}

func (e *DivergedError) Unwrap() error { return ErrNaNLoss }
