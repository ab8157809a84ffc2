package simclr

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/data"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

// dataSeed fixes dataset generation (synthetic images, the colours of
// fashion-mnist-color) and held-out splits, so every cell of a grid, whatever
// its seed, sees the same images and is scored on the same test set. The
// cell's Seed drives everything else: subsets, initialisation, views.
const dataSeed = 1

// Run pretrains (or trains a baseline) and evaluates one cell.
//
// A cell that pretrains reads its dataset twice: once for the pretraining
// images, and again after pretraining for the evaluation sets, so that
// they are not held in memory through training (the second read must give
// the same checksum, or Run fails).
//
// Cancelling ctx stops training within one step; the error wraps
// ctx.Err() and the last epoch checkpoint (if Hooks.Checkpoint is set) stays
// on disk so a later Run resumes from it. A non-finite loss returns a
// *DivergedError (errors.Is(err, ErrNaNLoss)).
func Run(ctx context.Context, cfg Config, hooks Hooks) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	if hooks.Logger == nil {
		hooks.Logger = slog.New(slog.DiscardHandler)
	}
	// Start on an empty heap: the garbage a runner's previous cell left
	// (its evaluation networks) would otherwise still be there while this
	// cell loads its dataset, and its pages stay counted.
	hooks.releaseMemory(true)
	hooks.phase("load data")
	c := &cell{cfg: cfg, hooks: hooks}
	train, err := c.load()
	if err != nil {
		return nil, err
	}
	if err := c.split(train, true); err != nil {
		return nil, err
	}
	train = nil // only the parts split off stay live (the full set can be 188 MB)
	pretrains := cfg.Method == MethodSimCLR || cfg.Method == MethodSupervised
	if pretrains {
		// Pretraining needs only its own images: the evaluation sets are
		// loaded again after it (split checked them already), so that the
		// training phase — the cell's peak memory — does not hold them.
		c.test, c.evalTrain, c.labelled = nil, nil, nil
	}
	// Collect now rather than when the network's buffers have grown the
	// heap: a cell's peak RSS is its training-phase heap. Return the free
	// pages to the system too: the full training set's pages are free now.
	hooks.releaseMemory(true)

	start := time.Now()
	var enc *nn.State
	switch cfg.Method {
	case MethodSimCLR:
		enc, err = c.pretrain(ctx)
	case MethodSupervised:
		enc, err = c.supervised(ctx)
	case MethodRandomInit:
		enc, err = c.randomInit()
	case MethodRawPixels:
		enc = nil
	}
	if err != nil {
		return c.result(), err
	}
	c.res.PretrainTime = time.Since(start)
	if hooks.OnTrained != nil && enc != nil {
		hooks.OnTrained(enc)
	}
	// The training network (its buffers are most of the heap) is garbage
	// now: collect it before evaluation builds its own networks.
	c.pretrainSet, c.knnTrain, c.knnTest = nil, nil, nil
	hooks.releaseMemory(false)
	if pretrains {
		hooks.phase("load evaluation data")
		sum := c.res.DatasetChecksum
		if train, err = c.load(); err != nil {
			return c.result(), err
		}
		if c.res.DatasetChecksum != sum {
			return c.result(), fmt.Errorf("dataset %s changed on disk during the cell (checksum %s, now %s)", cfg.Dataset, sum, c.res.DatasetChecksum)
		}
		if err := c.split(train, false); err != nil {
			return c.result(), err
		}
		train = nil
	}

	start = time.Now()
	if err := c.evaluate(ctx, enc); err != nil {
		return c.result(), err
	}
	c.res.EvalTime = time.Since(start)
	if hooks.Checkpoint != "" {
		if err := removeCheckpoint(hooks.Checkpoint); err != nil {
			hooks.Logger.Warn("remove checkpoint", "dir", hooks.Checkpoint, "err", err)
		}
	}
	return c.result(), nil
}

// cell is the state of one Run.
type cell struct {
	cfg     Config
	hooks   Hooks
	test    *data.Set
	classes []string
	c, h, w int // image shape

	// The parts of the training set the cell uses, cut once by split.
	pretrainSet *data.Set             // pretraining images (simclr, supervised)
	evalTrain   *data.Set             // linear evaluation's labelled images
	knnTrain    *data.Set             // the kNN monitor's labelled training images (training only)
	knnTest     *data.Set             // the kNN monitor's test images (training only)
	labelled    map[float64]*data.Set // fine-tuning subsets by label fraction
	res         Result
}

// result returns a copy of the cell's result: a pointer into the cell
// would keep the whole cell — its images, hooks and everything they
// reach — alive for as long as the caller keeps the result (a runner keeps
// every cell's until the grid ends; that leaked about 1 GB a cell).
func (c *cell) result() *Result {
	res := c.res
	return &res
}

// load reads the cell's dataset, keeps its test set (or test subset) in c
// and the dataset's checksum in the result, and returns the training set.
func (c *cell) load() (*data.Set, error) {
	cfg := &c.cfg
	train, test, err := data.Load(data.Spec{
		Name:      cfg.Dataset,
		Path:      cfg.Path,
		TestPath:  cfg.TestPath,
		ImageSize: cfg.ImageSize,
		Size:      cfg.SyntheticSize,
		Seed:      dataSeed,
		Lazy:      true, // images are rendered when used: see split
	})
	if err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", cfg.Dataset, err)
	}
	if cfg.TestSubset > 0 && cfg.TestSubset < test.N {
		test = data.RandomSubset(test, cfg.TestSubset, dataSeed)
	}
	c.test, c.classes, c.c, c.h, c.w = test, train.Classes, train.C, train.H, train.W
	c.res.DatasetChecksum = checksum(train, test)
	return train, nil
}

// split cuts the parts of train the cell uses, each chosen by the cell's
// seed, so that the full training set need not stay in memory; the
// pretraining subset only when pretrain (the reload after pretraining
// needs the evaluation parts alone). Of a lazy train set, the pretraining
// subset keeps its own images' 8-bit pixels (Compact), from which the
// view loader renders an image whenever it makes a view of it (a
// synthetic subset is rendered here: its images are slow to draw); the
// evaluation parts stay lazy, and evaluation renders them a
// batch at a time (a fine-tuning subset when it is trained on), so that
// evaluation holds one batch of their images at a time, whatever
// eval_subset and test_subset.
func (c *cell) split(train *data.Set, pretrain bool) error {
	cfg := &c.cfg
	if pretrain && (cfg.Method == MethodSimCLR || cfg.Method == MethodSupervised) {
		c.pretrainSet = data.RandomSubset(train, cfg.PretrainSubset, cfg.Seed).Compact()
		c.knnSets(train)
	}
	c.labelled = make(map[float64]*data.Set)
	for _, proto := range cfg.Eval {
		switch proto {
		case "linear":
			c.evalTrain = train
			if cfg.EvalSubset > 0 && cfg.EvalSubset < train.N {
				var err error
				if c.evalTrain, err = data.StratifiedFraction(train, float64(cfg.EvalSubset)/float64(train.N), cfg.Seed); err != nil {
					return fmt.Errorf("eval_subset: %w", err)
				}
			}
		case "finetune":
			for _, frac := range cfg.LabelFraction {
				sub, err := data.StratifiedFraction(train, frac, cfg.Seed)
				if err != nil {
					return fmt.Errorf("label_fraction %g: %w", frac, err)
				}
				c.labelled[frac] = sub
			}
		}
	}
	return nil
}

func (h Hooks) phase(p string) {
	if h.OnPhase != nil {
		h.OnPhase(p)
	}
}

func (h Hooks) releaseMemory(returnPages bool) {
	if h.ReleaseMemory != nil {
		h.ReleaseMemory(returnPages)
	}
}

func checksum(train, test *data.Set) string {
	return train.Checksum()[:16] + test.Checksum()[:16]
}
