package logreg

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// DefaultEpochs is the L-BFGS iteration cap used when Config.Epochs is 0
// (scikit-learn's LogisticRegression uses the same 100).
const DefaultEpochs = 100

// StdFloor is the smallest standard deviation used to scale a feature.
const StdFloor = 1e-6

// gradTol stops L-BFGS when the largest absolute component of ∇f falls
// below it.
const gradTol = 1e-6

// Config sets up training.
type Config struct {
	// L2 is λ in f = mean cross-entropy + (λ/2)·‖W‖²; >= 0.
	L2 float64
	// Epochs caps the L-BFGS iterations (each one full pass over the data,
	// plus the extra passes of its line search); 0 means DefaultEpochs.
	Epochs int
	// Seed is accepted for symmetry with the other stages but has no
	// effect: full-batch L-BFGS from zero is deterministic.
	Seed int64
}

// Model is a trained probe. W and B act on standardised features.
type Model struct {
	D, K int       // features, classes
	W    []float64 // [D, K] row-major: W[j*K+k] weighs feature j for class k
	B    []float64 // [K]
	Mean []float64 // [D] training mean of each feature
	Std  []float64 // [D] training standard deviation (population, floored at StdFloor)

	// How training went.
	Loss        float64 // f at the returned weights
	GradNorm    float64 // max |∂f/∂θ| there
	Iterations  int     // L-BFGS iterations
	Evaluations int     // passes over the data computing f and ∇f
	Status      string  // why L-BFGS stopped (gonum's status, or the line search's message)
}

// Rows is a feature matrix read a block of rows at a time: rows(lo, hi,
// buf) returns rows [lo, hi) as [hi−lo, d] row-major values, either a
// slice of its own or buf (whose length is (hi−lo)·d) filled. Training
// reads every row once per evaluation of the objective, from several
// goroutines at once (each with its own buf); every read of a row must
// give the same values.
type Rows func(lo, hi int, buf []float32) []float32

// Matrix returns the Rows of x, [n, d] row-major, held in memory.
func Matrix(x []float32, d int) Rows {
	return func(lo, hi int, _ []float32) []float32 { return x[lo*d : hi*d] }
}

// Train fits a probe to n rows of d features x ([n, d] row-major) with
// labels y in [0, classes). It fails on empty or mis-sized input, a
// non-finite feature, a label out of range, a bad Config, or when ctx is
// cancelled (the error wraps ctx.Err()).
func Train(ctx context.Context, x []float32, n, d int, y []int, classes int, cfg Config) (*Model, error) {
	if err := checkInput(n, d, y, classes); err != nil {
		return nil, err
	}
	if len(x) != n*d {
		return nil, fmt.Errorf("logreg: len(x) = %d, want n·d = %d·%d = %d", len(x), n, d, n*d)
	}
	return train(ctx, Matrix(x, d), n, d, y, classes, cfg, nil)
}

// TrainRows is Train on features that need not all be in memory at once:
// rows yields them a block at a time, once per evaluation of the
// objective. The model is the one Train fits to the same values, bit for
// bit.
func TrainRows(ctx context.Context, rows Rows, n, d int, y []int, classes int, cfg Config) (*Model, error) {
	if err := checkInput(n, d, y, classes); err != nil {
		return nil, err
	}
	return train(ctx, rows, n, d, y, classes, cfg, nil)
}

// train is TrainRows after checkInput, with a hook called at the start of
// every evaluation of the objective (for tests).
func train(ctx context.Context, rows Rows, n, d int, y []int, classes int, cfg Config, onEval func()) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("logreg: not started: %w", err)
	}
	if !(cfg.L2 >= 0) || math.IsInf(cfg.L2, 0) {
		return nil, fmt.Errorf("logreg: L2 = %g, want >= 0 and finite", cfg.L2)
	}
	if cfg.Epochs < 0 {
		return nil, fmt.Errorf("logreg: epochs = %d, want >= 0 (0 = %d)", cfg.Epochs, DefaultEpochs)
	}
	iters := cfg.Epochs
	if iters == 0 {
		iters = DefaultEpochs
	}
	mean, std, err := standardisation(rows, n, d)
	if err != nil {
		return nil, err
	}
	p := newObjective(rows, n, d, y, classes, mean, std, cfg.L2)
	p.onEval = onEval
	return p.fit(ctx, iters)
}

// checkInput validates shapes and labels.
func checkInput(n, d int, y []int, classes int) error {
	switch {
	case n <= 0:
		return fmt.Errorf("logreg: no training rows (n = %d)", n)
	case d <= 0:
		return fmt.Errorf("logreg: no features (d = %d)", d)
	case classes < 1:
		return fmt.Errorf("logreg: %d classes, want >= 1", classes)
	case len(y) != n:
		return fmt.Errorf("logreg: %d labels for %d rows", len(y), n)
	}
	for i, c := range y {
		if c < 0 || c >= classes {
			return fmt.Errorf("logreg: label %d of row %d out of range [0, %d)", c, i, classes)
		}
	}
	return nil
}

// standardisation returns the per-feature mean and floored population
// standard deviation of the rows, read chunkRows at a time in order, and
// fails on a non-finite value.
func standardisation(rows Rows, n, d int) (mean, std []float64, err error) {
	buf := make([]float32, chunkRows*d)
	mean = make([]float64, d)
	for r0 := 0; r0 < n; r0 += chunkRows {
		hi := min(r0+chunkRows, n)
		x := rows(r0, hi, buf[:(hi-r0)*d])
		for i := range len(x) / d {
			for j, v := range x[i*d : (i+1)*d] {
				f := float64(v)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					return nil, nil, fmt.Errorf("logreg: feature %d of row %d is %v (features must be finite)", j, r0+i, v)
				}
				mean[j] += f
			}
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	std = make([]float64, d)
	for r0 := 0; r0 < n; r0 += chunkRows {
		hi := min(r0+chunkRows, n)
		x := rows(r0, hi, buf[:(hi-r0)*d])
		for i := range len(x) / d {
			for j, v := range x[i*d : (i+1)*d] {
				e := float64(v) - mean[j]
				std[j] += e * e
			}
		}
	}
	for j := range std {
		std[j] = max(math.Sqrt(std[j]/float64(n)), StdFloor)
	}
	return mean, std, nil
}

// fit runs L-BFGS from zero and packs the model.
func (p *objective) fit(ctx context.Context, iters int) (*Model, error) {
	dim := p.d*p.k + p.k
	var cache evalCache
	prob := optimize.Problem{
		Func: func(theta []float64) float64 {
			return cache.get(p, theta).f
		},
		Grad: func(grad, theta []float64) {
			copy(grad, cache.get(p, theta).grad)
		},
	}
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   iters,
		// Stop when f has stopped improving: less than 1e-12·|f| over
		// 10 iterations.
		Converger: &optimize.FunctionConverge{Relative: 1e-12, Iterations: 10},
		Recorder:  ctxRecorder{ctx},
	}
	res, err := optimize.Minimize(prob, make([]float64, dim), settings, &optimize.LBFGS{})
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("logreg: training stopped: %w", ctxErr)
	}
	status := ""
	if res != nil {
		status = res.Status.String()
	}
	if err != nil {
		// A line search that can make no more progress means f is flat to
		// rounding at the best point found: accept it.
		if res == nil || !lineSearchStalled(err) {
			return nil, fmt.Errorf("logreg: l-bfgs failed: %w", err)
		}
		status = err.Error()
	}
	theta := res.Location.X
	for _, v := range theta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("logreg: l-bfgs returned non-finite weights (status %s)", status)
		}
	}
	f, grad := res.Location.F, res.Location.Gradient
	if len(grad) != len(theta) {
		f, grad = p.eval(theta)
	}
	m := &Model{
		D: p.d, K: p.k,
		W:    append([]float64(nil), theta[:p.d*p.k]...),
		B:    append([]float64(nil), theta[p.d*p.k:]...),
		Mean: p.mean, Std: p.std,
		Loss:        f,
		GradNorm:    maxAbs(grad),
		Iterations:  res.Stats.MajorIterations,
		Evaluations: p.evals,
		Status:      status,
	}
	return m, nil
}

func lineSearchStalled(err error) bool {
	return errors.Is(err, optimize.ErrNoProgress) ||
		errors.Is(err, optimize.ErrLinesearcherFailure) ||
		errors.Is(err, optimize.ErrNonDescentDirection) ||
		errors.Is(err, optimize.ErrLinesearcherBound)
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// ctxRecorder stops the optimisation when ctx is done. gonum calls it
// after every evaluation.
type ctxRecorder struct{ ctx context.Context }

func (r ctxRecorder) Init() error { return nil }
func (r ctxRecorder) Record(*optimize.Location, optimize.Operation, *optimize.Stats) error {
	return r.ctx.Err()
}

// evalCache holds the last evaluation, so that gonum's separate Func and
// Grad calls at one point cost one pass over the data.
type evalCache struct {
	theta []float64
	f     float64
	grad  []float64
}

func (c *evalCache) get(p *objective, theta []float64) *evalCache {
	if c.theta != nil && equal(c.theta, theta) {
		return c
	}
	c.f, c.grad = p.eval(theta)
	c.theta = append(c.theta[:0], theta...)
	return c
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
