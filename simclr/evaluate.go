package simclr

import (
	"context"
	"fmt"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/simclr-ablate/simclr-ablate/simclr/data"
	"github.com/simclr-ablate/simclr-ablate/simclr/logreg"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

// evalBatch is the batch size of the inference graphs.
const evalBatch = 250

// evaluate scores the trained state (nil for raw-pixels) by every protocol
// the config asks for.
func (c *cell) evaluate(ctx context.Context, st *nn.State) error {
	cfg := &c.cfg
	for _, proto := range cfg.Eval {
		switch proto {
		case "linear":
			for _, feat := range c.featureKinds() {
				ev, err := c.linearEval(ctx, st, c.evalTrain, feat, 1)
				if err != nil {
					return err
				}
				c.res.Evaluations = append(c.res.Evaluations, *ev)
			}
		case "finetune":
			for _, frac := range cfg.LabelFraction {
				sub := c.labelled[frac]
				var ev *Evaluation
				var err error
				if cfg.Method == MethodRawPixels {
					// Fine-tuning pixels is a logistic regression on the labelled subset.
					ev, err = c.linearEval(ctx, nil, sub, "pixels", frac)
					if ev != nil {
						ev.Protocol = "finetune"
					}
				} else {
					ev, err = c.finetune(ctx, st, sub, frac)
				}
				if err != nil {
					return err
				}
				c.res.Evaluations = append(c.res.Evaluations, *ev)
			}
		}
	}
	return nil
}

// featureKinds lists the representations linear evaluation reads.
func (c *cell) featureKinds() []string {
	switch c.cfg.Method {
	case MethodRawPixels:
		return []string{"pixels"}
	case MethodSupervised:
		return []string{"h"} // no projection head
	}
	return c.cfg.EvalFeatures
}

// linearEval trains a multinomial logistic regression on frozen features of
// train and scores it on the test split. The encoder is really frozen:
// features are extracted once, in inference mode, evalBatch images at a
// time, so that the images are never in memory as a whole (the features
// are: 60 000 × 64 float32 is 15 MB). Raw pixels, the features of the
// baseline, are read from the sets as logreg needs them (see pixelRows).
func (c *cell) linearEval(ctx context.Context, st *nn.State, train *data.Set, feat string, frac float64) (*Evaluation, error) {
	start := time.Now()
	c.hooks.phase("linear eval (" + feat + ")")
	classes := len(c.classes)
	cfg := logreg.Config{L2: c.cfg.LinearL2, Epochs: c.cfg.LinearEpochs, Seed: c.cfg.Seed}
	var model *logreg.Model
	var pred []int
	var err error
	if feat == "pixels" {
		d := train.C * train.H * train.W
		model, err = logreg.TrainRows(ctx, pixelRows(train), train.N, d, train.Labels, classes, cfg)
		if err == nil {
			pred = model.PredictRows(pixelRows(c.test), c.test.N)
		}
	} else {
		xtr, d, ferr := c.features(ctx, st, train, feat)
		if ferr != nil {
			return nil, ferr
		}
		model, err = logreg.Train(ctx, xtr, train.N, d, train.Labels, classes, cfg)
		if err == nil {
			xtr = nil // the test features take its place
			xte, _, ferr := c.features(ctx, st, c.test, feat)
			if ferr != nil {
				return nil, ferr
			}
			pred = model.Predict(xte, c.test.N)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("linear evaluation (%s): %w", feat, err)
	}
	return c.score("linear", feat, frac, train.N, pred, start)
}

// pixelsInMemory bounds the float32 pixels of a lazy set that raw-pixel
// linear evaluation renders once and keeps (bytes); a larger set is
// rendered again at every pass of the probe over it (once per L-BFGS
// evaluation), which costs time but no memory. Either way the probe sees
// the same values. A variable for tests.
var pixelsInMemory = 64 << 20

// pixelRows returns the pixels of set as the probe's feature rows.
func pixelRows(set *data.Set) logreg.Rows {
	d := set.C * set.H * set.W
	if set.Lazy() && set.N*d*4 <= pixelsInMemory {
		set = set.Materialize()
	}
	if !set.Lazy() {
		return logreg.Matrix(set.Images, d)
	}
	return func(lo, hi int, buf []float32) []float32 {
		set.CopyImages(buf, lo)
		return buf
	}
}

func (c *cell) score(proto, feat string, frac float64, trainN int, pred []int, start time.Time) (*Evaluation, error) {
	s, err := metrics.Compute(c.test.Labels, pred, len(c.classes))
	if err != nil {
		return nil, fmt.Errorf("%s evaluation: %w", proto, err)
	}
	return &Evaluation{
		Protocol: proto, Features: feat, LabelFraction: frac,
		TrainSize: trainN, TestSize: c.test.N,
		Accuracy: s.Accuracy, MacroF1: s.MacroF1, PerClassF1: s.PerClassF1, Confusion: s.Confusion,
		Classes: c.classes, Duration: Seconds(time.Since(start).Seconds()),
	}, nil
}

// features runs set through the encoder in inference mode (BatchNorm with
// running statistics) and returns h or z for every image, [N, d].
func (c *cell) features(ctx context.Context, st *nn.State, set *data.Set, feat string) ([]float32, int, error) {
	inf, err := c.inference(st, set, feat, nil)
	if err != nil {
		return nil, 0, err
	}
	defer inf.m.Close()
	return inf.features(ctx, set)
}

// extract runs set through the encoder in inference mode evalBatch images
// at a time and calls got with the features (h or z) of images [lo, hi),
// [hi−lo, d], while they are live. Its memory is the inference network's
// and one batch of images, whatever the size of set.
func (c *cell) extract(ctx context.Context, st *nn.State, set *data.Set, feat string, got func(lo, hi int, f []float32)) error {
	inf, err := c.inference(st, set, feat, nil)
	if err != nil {
		return err
	}
	defer inf.m.Close()
	return inf.extract(ctx, set, got)
}

// inferenceNet is an inference network with its machine, and the node of
// the features it extracts (h or z).
type inferenceNet struct {
	net *nn.Net
	m   *nn.Machine
	out *G.Node
}

// inference builds and compiles the inference network of st for images
// of set's shape, extracting feat (h or z). With a lender, the machine's
// buffers are lender's (nn.Net.CompileBorrowing) when they fit there, and
// lender cannot run until the machine is closed. The caller closes it.
func (c *cell) inference(st *nn.State, set *data.Set, feat string, lender *nn.Machine) (*inferenceNet, error) {
	withHead := feat == "z"
	var inf *inferenceNet
	err := compiled(func() error {
		net, err := nn.Build(arch(&c.cfg, set.C, 0, withHead), evalBatch, set.C, set.H, set.W, false, c.cfg.Seed)
		if err != nil {
			return fmt.Errorf("build inference network: %w", err)
		}
		if err := net.SetState(st); err != nil {
			return fmt.Errorf("load encoder: %w", err)
		}
		out := net.H
		if withHead {
			out = net.Z
		}
		var m *nn.Machine
		if lender != nil {
			m, err = net.CompileBorrowing(lender, nil)
		} else {
			m, err = net.Compile(nil)
		}
		if err != nil {
			return fmt.Errorf("compile inference network: %w", err)
		}
		inf = &inferenceNet{net: net, m: m, out: out}
		return nil
	})
	return inf, err
}

// extract is cell.extract on this network; set has its image shape.
func (f *inferenceNet) extract(ctx context.Context, set *data.Set, got func(lo, hi int, f []float32)) error {
	d := f.out.Shape()[1]
	return forEachBatch(ctx, f.m, f.net.X, set, func(lo, hi int) {
		got(lo, hi, f.out.Value().Data().([]float32)[:(hi-lo)*d])
	})
}

// features is cell.features on this network; set has its image shape.
func (f *inferenceNet) features(ctx context.Context, set *data.Set) ([]float32, int, error) {
	d := f.out.Shape()[1]
	feats := make([]float32, set.N*d)
	err := f.extract(ctx, set, func(lo, hi int, x []float32) {
		copy(feats[lo*d:hi*d], x)
	})
	return feats, d, err
}

// forEachBatch runs set through an inference machine evalBatch images at a
// time (the last batch padded with zeros), rendering each batch of a lazy
// set as it goes, and calls got for images [lo, hi) while the outputs are
// live.
func forEachBatch(ctx context.Context, m *nn.Machine, x *G.Node, set *data.Set, got func(lo, hi int)) error {
	per := set.C * set.H * set.W
	buf := make([]float32, evalBatch*per)
	for lo := 0; lo < set.N; lo += evalBatch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("evaluation stopped: %w", err)
		}
		n := set.CopyImages(buf, lo)
		clear(buf[n*per:])
		if err := m.Run(map[*G.Node][]float32{x: buf}); err != nil {
			return fmt.Errorf("inference: %w", err)
		}
		got(lo, lo+n)
		m.Reset()
	}
	return nil
}

// finetune trains encoder + linear classifier end-to-end on a stratified
// label fraction (no regularisation, as the paper) and scores the
// classifier on the test split.
func (c *cell) finetune(ctx context.Context, st *nn.State, sub *data.Set, frac float64) (*Evaluation, error) {
	start := time.Now()
	c.hooks.phase(fmt.Sprintf("finetune %g", frac))
	cfg := &c.cfg
	// The subset's own pixels, for this fraction only (Compact): the view
	// loader renders an image whenever it makes a view of it.
	sub = sub.Compact()
	tuned, err := c.trainClassifier(ctx, sub, st, cfg.FinetuneEpochs, "adam", cfg.FinetuneLR, "none", 0, 0,
		fmt.Sprintf("finetune-%g", frac), "")
	if err != nil {
		return nil, fmt.Errorf("finetune %g: %w", frac, err)
	}
	pred, err := c.classify(ctx, tuned)
	if err != nil {
		return nil, err
	}
	return c.score("finetune", "h", frac, sub.N, pred, start)
}

// classify predicts the test split with a trained classifier state.
func (c *cell) classify(ctx context.Context, st *nn.State) ([]int, error) {
	set := c.test
	classes := len(c.classes)
	var (
		net *nn.Net
		m   *nn.Machine
	)
	err := compiled(func() (err error) {
		net, err = nn.Build(arch(&c.cfg, set.C, classes, false), evalBatch, set.C, set.H, set.W, false, c.cfg.Seed)
		if err != nil {
			return fmt.Errorf("build classifier: %w", err)
		}
		if err := net.SetState(st); err != nil {
			return fmt.Errorf("load classifier: %w", err)
		}
		m, err = net.Compile(nil)
		if err != nil {
			return fmt.Errorf("compile classifier: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	pred := make([]int, set.N)
	err = forEachBatch(ctx, m, net.X, set, func(lo, hi int) {
		logits := net.Logits.Value().Data().([]float32)
		for i := lo; i < hi; i++ {
			row := logits[(i-lo)*classes : (i-lo+1)*classes]
			best := 0
			for k, v := range row {
				if v > row[best] {
					best = k
				}
			}
			pred[i] = best
		}
	})
	return pred, err
}
