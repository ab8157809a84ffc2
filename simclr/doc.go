// Package simclr is the SimCLR method: it pretrains an encoder with the
// NT-Xent contrastive loss on pairs of augmented views and measures the
// representation by linear evaluation and fine-tuning.
//
// The package knows nothing of TOML or SQLite. A caller resolves one grid
// cell into a Config and calls Run; per-epoch statistics come back through
// Hooks, the scores in a Result. Hooks.OnTrained receives the trained
// network and ReadCheckpoint an interrupted cell's; MarshalEncoder writes
// either as safetensors under the names and layouts of PyTorch's module
// in bench/torch_simclr_step.py (docs/artifacts.md).
//
// Sub-packages hold the concepts big enough for their own folder:
// config (the settings of a cell, their descriptions and validation),
// data (datasets), augment (views), nn (the gorgonia graphs), optim
// (solvers and schedules), metrics (accuracy, macro-F1 and the records of
// a run), logreg (the linear probe) and knn (the weighted kNN classifier
// of the per-epoch monitor). Config, Result and the other
// records are aliases of config's and metrics' types, which carry no
// engine, so that the runner's grid reader and the results store need
// not link gorgonia.
package simclr
