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
// is off.
func (c *cell) monitor() func(ctx context.Context, st *nn.State) (float64, error) {
	if c.knnTrain == nil || c.knnTest == nil {
		return nil
	}
	train, test, classes := c.knnTrain, c.knnTest, len(c.classes)
	return func(ctx context.Context, st *nn.State) (float64, error) {
		xtr, d, err := c.knnFeatures(ctx, st, train)
		if err != nil {
			return 0, err
		}
		xte, _, err := c.knnFeatures(ctx, st, test)
		if err != nil {
			return 0, err
		}
		return knn.Accuracy(ctx, xtr, train.Labels, xte, test.Labels, d, classes, knn.Config{})
	}
}

// knnFeatures is h of every image of set, [N, d], extracted as linear
// evaluation extracts it (inference mode: BatchNorm's running statistics).
func (c *cell) knnFeatures(ctx context.Context, st *nn.State, set *data.Set) ([]float32, int, error) {
	return c.features(ctx, st, set, "h")
}
