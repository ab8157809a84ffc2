package metrics

import "time"

// The plain records of a cell's run: what the training engine (package
// simclr) reports and the results database stores. They hold numbers
// only, so that reading results does not link the engine.

// EpochStats are the health signals of one pretraining (or supervised)
// epoch, handed to simclr.Hooks.OnEpoch.
type EpochStats struct {
	Epoch          int     // 1-based
	Epochs         int     // total planned
	Steps          int     // optimiser steps this epoch
	Loss           float64 // mean training loss over the epoch's steps
	LR             float64 // learning rate at the epoch's last step
	ImagesPerSec   float64 // views (2N per step) per second of wall time
	ContrastiveAcc float64 // fraction of anchors whose positive is the most similar other view
	PositiveCos    float64 // mean cosine similarity of positive pairs (of z)
	// KNNAcc is the kNN monitor's accuracy after the epoch (weighted kNN
	// on h of labelled training images, scored on test images), or nil
	// when the monitor is off.
	KNNAcc   *float64
	Duration time.Duration // wall time of the epoch
}

// StepStats is reported after every optimiser step, for progress bars.
type StepStats struct {
	Epoch, Step, StepsPerEpoch int
	Epochs, TotalSteps         int // the training's length: epochs (the last may stop early) and steps
	Loss                       float64
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
