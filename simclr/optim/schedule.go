package optim

import (
	"fmt"
	"math"
	"slices"
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

// Schedules are the accepted Schedule.Kind values.
var Schedules = []string{"cosine", "constant", "step"}

// Schedule is a learning-rate schedule over TotalSteps optimiser steps: a
// linear warm-up over the first WarmupSteps, then, for Kind
//
//	cosine:    lr = peak · (f + (1−f) · ½(1 + cos(π·(step−W)/(T−W))))   f = FinalFraction
//	constant:  lr = peak
//	step:      lr = peak · 0.1^k,  k = the number of Milestones <= step
//
// where W = WarmupSteps, T = TotalSteps, and the warm-up is as in
// CosineWithWarmup: lr = peak · (step+1)/W for step < W. The cosine
// decay with f = 0 is CosineWithWarmup; with f > 0 it ends at peak·f
// instead of 0. Milestones are steps, increasing. At step >= T the rate
// is the schedule's last: 0 (peak·f) for cosine, peak for constant and
// peak·0.1^len(Milestones) for step. A negative step is taken as 0.
type Schedule struct {
	Kind          string // "cosine" ("" too), "constant" or "step"
	Peak          float64
	WarmupSteps   int
	TotalSteps    int
	FinalFraction float64 // cosine: the rate at the end, as a fraction of Peak
	Milestones    []int   // step: the steps at which the rate is multiplied by 0.1
}

// NewSchedule checks s: a known Kind, 0 <= FinalFraction <= 1 (and 0
// unless cosine), milestones increasing and only for step.
func NewSchedule(s Schedule) (Schedule, error) {
	if s.Kind == "" {
		s.Kind = "cosine"
	}
	if !slices.Contains(Schedules, s.Kind) {
		return Schedule{}, fmt.Errorf("optim: unknown lr_schedule %q (valid: %s)", s.Kind, strings.Join(Schedules, ", "))
	}
	if !(s.FinalFraction >= 0 && s.FinalFraction <= 1) || (s.FinalFraction != 0 && s.Kind != "cosine") {
		return Schedule{}, fmt.Errorf("optim: final fraction %g: must be in [0, 1], and 0 unless the schedule is cosine", s.FinalFraction)
	}
	if (s.Kind == "step") != (len(s.Milestones) > 0) {
		return Schedule{}, fmt.Errorf("optim: schedule %s with %d milestones: step needs them, the others take none", s.Kind, len(s.Milestones))
	}
	for i, m := range s.Milestones {
		if i > 0 && m <= s.Milestones[i-1] {
			return Schedule{}, fmt.Errorf("optim: milestones %v: must increase", s.Milestones)
		}
	}
	s.Milestones = slices.Clone(s.Milestones)
	return s, nil
}

// LR returns the learning rate at 0-based step.
func (s Schedule) LR(step int) float64 {
	step = max(step, 0)
	if (s.Kind == "" || s.Kind == "cosine") && s.FinalFraction == 0 {
		return CosineWithWarmup(s.Peak, s.WarmupSteps, s.TotalSteps, step)
	}
	if step < s.WarmupSteps && step < s.TotalSteps {
		return s.Peak * float64(step+1) / float64(s.WarmupSteps)
	}
	switch s.Kind {
	case "constant":
		return s.Peak
	case "step":
		lr := s.Peak
		for _, m := range s.Milestones {
			if step >= m {
				lr *= 0.1
			}
		}
		return lr
	}
	f := s.FinalFraction
	return s.Peak*f + (1-f)*CosineWithWarmup(s.Peak, s.WarmupSteps, s.TotalSteps, step)
}
