// Package optim holds the solvers and learning-rate schedules of SimCLR
// pretraining: SGD with momentum, LARS (the layer-wise adaptive solver of
// the SimCLR paper) and Adam, all implementing gorgonia's Solver interface,
// plus the batch-size scaling of the learning rate and the schedules that
// follow a linear warm-up: cosine decay (to 0 or a fraction of the peak),
// a constant rate, and steps of ×0.1 at milestones.
//
// Every solver updates the parameter values in place and zeroes their
// gradients after each step (gorgonia accumulates gradients otherwise).
// Values must be *tensor.Dense of dtype float32 or float64; the optimiser
// state (momentum, moments) is kept in float64 whatever the parameter
// dtype, so a float32 model gets float32-rounded parameters computed from
// exact-to-float64 updates.
//
// Parameters are matched to their state by position in the slice passed
// to Step, and checked by name when the ValueGrad has a Name() string
// method (a *gorgonia.Node has): the first Step fixes the parameter list,
// and a later Step with a different list is an error, never a silent
// mismatch. State and SetState copy that state for checkpoints; it is
// gob-encodable.
//
// gorgonia's own NewAdamW never changes the weights in v0.9.18; these
// solvers are written here instead (see docs/gorgonia.md).
package optim
