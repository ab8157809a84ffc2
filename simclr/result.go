package simclr

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// EpochStats are the health signals of one pretraining (or supervised)
// epoch, handed to Hooks.OnEpoch.
type EpochStats struct {
	Epoch          int           // 1-based
	Epochs         int           // total planned
	Steps          int           // optimiser steps this epoch
	Loss           float64       // mean training loss over the epoch's steps
	LR             float64       // learning rate at the epoch's last step
	ImagesPerSec   float64       // views (2N per step) per second of wall time
	ContrastiveAcc float64       // fraction of anchors whose positive is the most similar other view
	PositiveCos    float64       // mean cosine similarity of positive pairs (of z)
	Duration       time.Duration // wall time of the epoch
}

// StepStats is reported after every optimiser step, for progress bars.
type StepStats struct {
	Epoch, Step, StepsPerEpoch int
	Loss                       float64
}

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
	Logger     *slog.Logger

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

// Evaluation is one scored protocol of one cell.
type Evaluation struct {
	Protocol      string    `json:"protocol"`       // "linear" or "finetune"
	Features      string    `json:"features"`       // "h", "z", or "pixels" (raw-pixels baseline)
	LabelFraction float64   `json:"label_fraction"` // fraction of train labels used
	TrainSize     int       `json:"train_size"`
	TestSize      int       `json:"test_size"`
	Accuracy      float64   `json:"accuracy"`
	MacroF1       float64   `json:"macro_f1"`
	PerClassF1    []float64 `json:"per_class_f1"`
	Confusion     [][]int   `json:"confusion"` // [true][predicted]
	Classes       []string  `json:"classes"`
	Duration      Seconds   `json:"seconds"`
}

// Seconds is a duration that marshals as a number of seconds.
type Seconds float64

// Result is what one cell produced.
type Result struct {
	Epochs          []EpochStats
	FinalLoss       float64
	Evaluations     []Evaluation
	DatasetChecksum string // sha256 of the train and test images and labels used
	PretrainTime    time.Duration
	EvalTime        time.Duration
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
