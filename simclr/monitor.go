package simclr

import (
	"context"

	"github.com/simclr-ablate/simclr-ablate/simclr/data"
	"github.com/simclr-ablate/simclr-ablate/simclr/knn"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

// The kNN monitor: after every training epoch, the encoder's h of
// knn_train labelled training images and knn_test test images, in
// inference mode, and the accuracy of a weighted kNN classifier (package
// knn: k = 200, τ = 0.1) from one to the other. Both subsets are drawn
// with dataSeed, so every cell of a grid is watched on the same images.
// The monitor reads the trained state and changes nothing: a cell gives
// the same result with it on or off, and a resumed cell the same values.

// knnSets cuts the monitor's images from the training set and the test
// set, or leaves them nil when the monitor is off.
func (c *cell) knnSets(train *data.Set) {
	cfg := &c.cfg
	if cfg.KNNTrain <= 0 || cfg.KNNTest <= 0 {
		return
	}
	// Their own pixels only (Compact): the monitor renders them a batch
	// at a time, every epoch.
	c.knnTrain = data.RandomSubset(train, cfg.KNNTrain, dataSeed).Compact()
	c.knnTest = data.RandomSubset(c.test, cfg.KNNTest, dataSeed).Compact()
}

// monitor returns the kNN monitor of the cell's training, or nil when it
// is off. It runs between epochs, while the training network's buffers
// (at batch 256 most of a cell's memory) are idle: given that network's
// machine as lender, its one inference network, for both sets, puts its
// buffers there (nn.Net.CompileBorrowing), so that the monitor needs
// little memory beyond training's.
func (c *cell) monitor() func(ctx context.Context, st *nn.State, lender *nn.Machine) (float64, error) {
	if c.knnTrain == nil || c.knnTest == nil {
		return nil
	}
	train, test, classes := c.knnTrain, c.knnTest, len(c.classes)
	return func(ctx context.Context, st *nn.State, lender *nn.Machine) (float64, error) {
		inf, err := c.inference(st, train, "h", lender)
		if err != nil {
			return 0, err
		}
		defer inf.m.Close()
		xtr, d, err := inf.features(ctx, train)
		if err != nil {
			return 0, err
		}
		xte, _, err := inf.features(ctx, test)
		if err != nil {
			return 0, err
		}
		return knn.Accuracy(ctx, xtr, train.Labels, xte, test.Labels, d, classes, knn.Config{})
	}
}
