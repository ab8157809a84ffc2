// Package simclr is the SimCLR method: it pretrains an encoder with the
// NT-Xent contrastive loss on pairs of augmented views and measures the
// representation by linear evaluation and fine-tuning.
//
// The package knows nothing of TOML or SQLite. A caller resolves one grid
// cell into a Config and calls Run; per-epoch statistics come back through
// Hooks, the scores in a Result.
//
// Sub-packages hold the concepts big enough for their own folder:
// data (datasets), augment (views), nn (the gorgonia graphs), optim
// (solvers and schedules), metrics (accuracy, macro-F1) and logreg (the
// linear probe).
package simclr
