package optim

import (
	"fmt"
	"math"
	"strings"
)

// lrScalings are the accepted scaling rules of ScaleLR.
var lrScalings = []string{"none", "linear", "sqrt"}

// ScaleLR returns the learning rate for batch size batch from a base rate
// that always means "the rate at batch 256":
//
//	none:   lr = base
//	linear: lr = base · B/256          (SimCLR: base 0.3 for LARS)
//	sqrt:   lr = base · √(B/256)
//
// The paper's small-batch rule lr = 0.075·√B is sqrt scaling with
// base = 1.2 (0.075·√256). It fails on an unknown rule, a batch below 1,
// or a base that is negative or not finite.
func ScaleLR(base float64, scaling string, batch int) (float64, error) {
	if !(base >= 0) || math.IsInf(base, 0) {
		return 0, fmt.Errorf("optim: learning rate %g: must be >= 0 and finite", base)
	}
	if batch < 1 {
		return 0, fmt.Errorf("optim: learning-rate scaling needs a batch size >= 1, got %d", batch)
	}
	r := float64(batch) / 256
	switch scaling {
	case "none":
		return base, nil
	case "linear":
		return base * r, nil
	case "sqrt":
		return base * math.Sqrt(r), nil
	}
	return 0, fmt.Errorf("optim: unknown lr_scaling %q (valid: %s)", scaling, strings.Join(lrScalings, ", "))
}

// CosineWithWarmup is the learning rate at 0-based step of totalSteps:
// a linear warm-up over the first warmupSteps steps, then a cosine decay
// to 0 at totalSteps (SimCLR's schedule):
//
//	step < warmupSteps:  lr = peak · (step+1)/warmupSteps   (peak/warmupSteps … peak)
//	otherwise:           lr = peak · ½(1 + cos(π·(step−warmupSteps)/(totalSteps−warmupSteps)))
//	step >= totalSteps:  lr = 0
//
// So the decay starts at peak, passes peak/2 halfway and reaches 0 at
// totalSteps; warmupSteps = 0 is a pure cosine decay. A negative step is
// taken as 0.
func CosineWithWarmup(peak float64, warmupSteps, totalSteps, step int) float64 {
	if step < 0 {
		step = 0
	}
	if step >= totalSteps {
		return 0
	}
	if step < warmupSteps {
		return peak * float64(step+1) / float64(warmupSteps)
	}
	// Here warmupSteps <= step < totalSteps, so the decay length is >= 1.
	w := max(warmupSteps, 0)
	progress := float64(step-w) / float64(totalSteps-w)
	return peak * 0.5 * (1 + math.Cos(math.Pi*progress))
}
