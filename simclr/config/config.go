package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// Method names: what a cell computes. "simclr" pretrains with the contrastive
// loss; the others are the baselines a report shows beside it, computed by
// the same evaluation protocol.
const (
	MethodSimCLR     = "simclr"
	MethodRawPixels  = "raw-pixels"  // logistic regression on the pixels
	MethodRandomInit = "random-init" // linear evaluation of an untrained encoder
	MethodSupervised = "supervised"  // the same encoder trained end-to-end with labels
)

// Valid choices for the string settings, the one list of each: the runner
// quotes them in its error messages, and simclr/augment (Transforms) and
// simclr/data (Datasets) implement exactly these names.
var (
	Methods      = []string{MethodSimCLR, MethodRawPixels, MethodRandomInit, MethodSupervised}
	Datasets     = []string{"fashion-mnist", "fashion-mnist-color", "mnist", "cifar10", "imagefolder", "synthetic"}
	Transforms   = []string{"crop", "flip", "color", "grayscale", "rotate", "cutout", "noise", "blur", "sobel", "roi"}
	Encoders     = []string{"resnet-small", "resnet-18"}
	Heads        = []string{"none", "linear", "nonlinear"}
	Optimizers   = []string{"sgd", "lars", "adam"}
	LRScalings   = []string{"none", "linear", "sqrt"}
	LRSchedules  = []string{"cosine", "constant", "step"}
	EvalKinds    = []string{"linear", "finetune"}
	FeatureKinds = []string{"h", "z"}
)

// The kNN monitor's defaults: 1000 labelled training images, 500 test
// images. On Fashion-MNIST with resnet-small at batch 256 it costs under
// 5% of a 10 000-image epoch (docs/method.md).
const (
	DefaultKNNTrain = 1000
	DefaultKNNTest  = 500
)

// Image size limits: image_size is 0 (the dataset's native size) or in
// [1, MaxImageSize]; the synthetic dataset draws images of at least
// MinSyntheticSide pixels.
const (
	MaxImageSize     = 1024
	MinSyntheticSide = 8
)

// Config is everything one grid cell needs. The TOML key of each field is
// the setting name users write in [base], [grid], [[variant]] and --set.
// The same Config and Seed give the same result on the same machine.
type Config struct {
	Method string `toml:"method" json:"method"`

	// Data.
	Dataset        string `toml:"dataset" json:"dataset"`
	Path           string `toml:"path" json:"path,omitempty"`             // dataset root; "" = the dataset's default location
	TestPath       string `toml:"test_path" json:"test_path,omitempty"`   // imagefolder: separate test root; "" = seeded stratified split
	ImageSize      int    `toml:"image_size" json:"image_size"`           // imagefolder and synthetic: side in pixels; 0 = the dataset's native size
	SyntheticSize  int    `toml:"synthetic_size" json:"synthetic_size"`   // synthetic: number of train images (test = a quarter)
	PretrainSubset int    `toml:"pretrain_subset" json:"pretrain_subset"` // 0 = the whole train split
	EvalSubset     int    `toml:"eval_subset" json:"eval_subset"`         // labelled train images for linear evaluation; 0 = all
	TestSubset     int    `toml:"test_subset" json:"test_subset"`         // test images scored; 0 = all

	// Model.
	Encoder    string  `toml:"encoder" json:"encoder"`
	Width      int     `toml:"width" json:"width"`   // 0 = the preset's first-stage width
	Blocks     []int   `toml:"blocks" json:"blocks"` // BasicBlocks per stage; nil = the preset's
	Head       string  `toml:"head" json:"head"`
	ProjDim    int     `toml:"proj_dim" json:"proj_dim"`
	ProjHidden int     `toml:"proj_hidden" json:"proj_hidden"` // 0 = the encoder's feature width
	BNMomentum float64 `toml:"bn_momentum" json:"bn_momentum"` // PyTorch semantics: 0.1

	// Views. Augment is the pipeline of the first branch; AugmentB, when
	// set, is the second branch's (the Figure 5 protocol gives the tested
	// transforms to one branch only).
	Augment       []string `toml:"augment" json:"augment"`
	AugmentB      []string `toml:"augment_b" json:"augment_b,omitempty"`
	ColorStrength float64  `toml:"color_strength" json:"color_strength"`
	CropMinScale  float64  `toml:"crop_min_scale" json:"crop_min_scale"`
	FlipProb      float64  `toml:"flip_prob" json:"flip_prob"`
	ColorProb     float64  `toml:"color_prob" json:"color_prob"`
	GrayProb      float64  `toml:"gray_prob" json:"gray_prob"`
	BlurProb      float64  `toml:"blur_prob" json:"blur_prob"`
	CutoutSize    float64  `toml:"cutout_size" json:"cutout_size"` // side of the erased square as a fraction of the image side
	NoiseSigma    float64  `toml:"noise_sigma" json:"noise_sigma"`

	// Loss and optimisation.
	Temperature float64 `toml:"temperature" json:"temperature"`
	BatchSize   int     `toml:"batch_size" json:"batch_size"` // N images, 2N views per step
	Epochs      int     `toml:"epochs" json:"epochs"`
	// Steps, when positive, is the length of training in optimiser steps
	// instead of Epochs (which must then be 0): training runs
	// ceil(Steps / steps per epoch) epochs and stops after exactly Steps.
	Steps     int     `toml:"steps" json:"steps,omitempty"`
	Optimizer string  `toml:"optimizer" json:"optimizer"`
	LR        float64 `toml:"lr" json:"lr"` // base rate before scaling
	LRScaling string  `toml:"lr_scaling" json:"lr_scaling"`
	// LRSchedule is what follows the warm-up: cosine decay (to
	// LR·LRFinalFraction), a constant rate, or steps of ×0.1 at the
	// LRMilestones (epochs). "" is "cosine" (the configs stored before the
	// setting existed); Hash does not tell them apart.
	LRSchedule      string  `toml:"lr_schedule" json:"lr_schedule,omitempty"`
	LRFinalFraction float64 `toml:"lr_final_fraction" json:"lr_final_fraction,omitempty"`
	LRMilestones    []int   `toml:"lr_milestones" json:"lr_milestones,omitempty"`
	WarmupEpochs    int     `toml:"warmup_epochs" json:"warmup_epochs"`
	WeightDecay     float64 `toml:"weight_decay" json:"weight_decay"`
	Momentum        float64 `toml:"momentum" json:"momentum"`

	// Evaluation.
	Eval           []string  `toml:"eval" json:"eval"`
	EvalFeatures   []string  `toml:"eval_features" json:"eval_features"`   // "h" (default), "z", or both
	LabelFraction  []float64 `toml:"label_fraction" json:"label_fraction"` // fine-tuning label fractions
	LinearEpochs   int       `toml:"linear_epochs" json:"linear_epochs"`
	LinearL2       float64   `toml:"linear_l2" json:"linear_l2"`
	FinetuneEpochs int       `toml:"finetune_epochs" json:"finetune_epochs"`
	FinetuneLR     float64   `toml:"finetune_lr" json:"finetune_lr"`
	// FinetuneBatch is the fine-tuning batch (images; 2 flipped views
	// each); 0 = min(64, batch_size). Label fractions are small: at batch
	// 256, 1% of Fashion-MNIST is two steps an epoch, too few for the
	// BatchNorm running statistics used at test time to follow.
	FinetuneBatch int `toml:"finetune_batch" json:"finetune_batch,omitempty"`

	// The kNN monitor: after every training epoch, a weighted kNN
	// classifier on the encoder's h of KNNTrain labelled training images
	// scores KNNTest test images (0 and 0: off). It only observes, so it
	// is not part of Hash: turning it on or off leaves a cell the same
	// cell.
	KNNTrain int `toml:"knn_train" json:"knn_train,omitempty"`
	KNNTest  int `toml:"knn_test" json:"knn_test,omitempty"`

	// Output. SaveEncoder keeps the cell's trained network beside the
	// results database (the runner's artifacts). It is not part of the
	// cell's identity: Hash leaves it out.
	SaveEncoder bool `toml:"save_encoder" json:"save_encoder,omitempty"`

	Seed int64 `toml:"seed" json:"seed"`
}

// DefaultConfig returns the settings a cell starts from before a grid's
// [base], axes and variants are applied. Values follow the SimCLR paper's
// CIFAR-10 choices scaled to a 2-core machine (see README).
func DefaultConfig() Config {
	return Config{
		Method:         MethodSimCLR,
		Dataset:        "fashion-mnist",
		SyntheticSize:  512,
		PretrainSubset: 10000,
		Encoder:        "resnet-small",
		Head:           "nonlinear",
		ProjDim:        32,
		BNMomentum:     0.1,
		Augment:        []string{"crop", "color"},
		ColorStrength:  0.5,
		CropMinScale:   0.08,
		FlipProb:       0.5,
		ColorProb:      0.8,
		GrayProb:       0.2,
		BlurProb:       0.5,
		CutoutSize:     0.5,
		NoiseSigma:     0.1,
		Temperature:    0.5,
		BatchSize:      256,
		Epochs:         10,
		Optimizer:      "adam",
		LR:             1e-3,
		LRScaling:      "none",
		LRSchedule:     "cosine",
		WarmupEpochs:   0,
		WeightDecay:    1e-6,
		Momentum:       0.9,
		Eval:           []string{"linear"},
		EvalFeatures:   []string{"h"},
		LabelFraction:  []float64{0.1},
		LinearEpochs:   100,
		LinearL2:       1e-4,
		FinetuneEpochs: 10,
		FinetuneLR:     1e-3,
		KNNTrain:       DefaultKNNTrain,
		KNNTest:        DefaultKNNTest,
		Seed:           1,
	}
}

// Hash identifies a cell's settings apart from its seed: the first 16 hex
// digits of the SHA-256 of the config's JSON with Seed set to zero and
// SaveEncoder false (keeping the encoder does not change what the cell
// computes). A grid cell is experiment + Hash + Seed.
//
// Settings added after results were stored leave the hash of a config
// that does not use them unchanged: their JSON is omitted at the zero
// value, and Hash writes lr_schedule "cosine" as "" (what a config stored
// before lr_schedule existed holds). The settings marked Monitor (the kNN
// monitor's) are left out: they change what is observed, not what is
// computed.
func (c Config) Hash() string {
	c.Seed = 0
	c.SaveEncoder = false // omitempty: the JSON of every earlier config
	if c.LRSchedule == "cosine" {
		c.LRSchedule = ""
	}
	for _, s := range table {
		if s.Monitor {
			f := s.Field(&c)
			f.SetZero()
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic("config: not marshalable: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// Clone returns a deep copy of c: its lists are copied, so that changing
// one config's lists never changes another's.
func (c Config) Clone() Config {
	c.Blocks = slices.Clone(c.Blocks)
	c.Augment = slices.Clone(c.Augment)
	c.AugmentB = slices.Clone(c.AugmentB)
	c.LRMilestones = slices.Clone(c.LRMilestones)
	c.Eval = slices.Clone(c.Eval)
	c.EvalFeatures = slices.Clone(c.EvalFeatures)
	c.LabelFraction = slices.Clone(c.LabelFraction)
	return c
}

// TrainingLength returns how long a cell whose epoch has stepsPerEpoch
// optimiser steps trains: epochs, the last of which may stop early, and
// steps in all. With Steps set, epochs = ceil(Steps / stepsPerEpoch) and
// steps = Steps; else Epochs and Epochs·stepsPerEpoch. stepsPerEpoch < 1
// gives Epochs and 0 steps.
func (c *Config) TrainingLength(stepsPerEpoch int) (epochs, steps int) {
	if stepsPerEpoch < 1 {
		return c.Epochs, 0
	}
	if c.Steps > 0 {
		return (c.Steps + stepsPerEpoch - 1) / stepsPerEpoch, c.Steps
	}
	return c.Epochs, c.Epochs * stepsPerEpoch
}
