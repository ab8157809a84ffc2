package optim

import (
	"math"
	"strings"
	"testing"
)

func TestScaleLR(t *testing.T) {
	for _, tc := range []struct {
		base    float64
		scaling string
		batch   int
		want    float64
	}{
		{0.3, "none", 1024, 0.3},
		{0.3, "linear", 256, 0.3},
		{0.3, "linear", 4096, 4.8},
		{0.3, "linear", 64, 0.075},
		{1.2, "sqrt", 256, 1.2},
		{1.2, "sqrt", 1024, 2.4},       // = 0.075·√1024
		{1.2, "sqrt", 64, 0.6},         // = 0.075·√64
		{1.2, "sqrt", 100, 0.075 * 10}, // the paper's 0.075·√B
	} {
		got, err := ScaleLR(tc.base, tc.scaling, tc.batch)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("ScaleLR(%g, %q, %d) = %g, %v; want %g, nil", tc.base, tc.scaling, tc.batch, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		base    float64
		scaling string
		batch   int
		want    string
	}{
		{0.1, "log", 256, `unknown lr_scaling "log" (valid: none, linear, sqrt)`},
		{0.1, "linear", 0, "batch size >= 1"},
		{-1, "none", 256, "must be >= 0"},
		{math.NaN(), "none", 256, "must be >= 0"},
		{math.Inf(1), "none", 256, "finite"},
	} {
		_, err := ScaleLR(tc.base, tc.scaling, tc.batch)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ScaleLR(%g, %q, %d) error = %v, want one containing %q", tc.base, tc.scaling, tc.batch, err, tc.want)
		}
	}
}

func TestCosineWithWarmup(t *testing.T) {
	for _, tc := range []struct {
		name                string
		warmup, total, step int
		want                float64
	}{
		{"warm-up start", 10, 110, 0, 0.1},
		{"warm-up middle", 10, 110, 4, 0.5},
		{"warm-up end", 10, 110, 9, 1},
		{"decay start", 10, 110, 10, 1},
		{"decay midpoint", 10, 110, 60, 0.5},
		{"decay quarter", 10, 110, 35, 0.5 * (1 + math.Cos(math.Pi/4))},
		{"last step", 10, 110, 109, 0.5 * (1 + math.Cos(math.Pi*99/100))},
		{"end", 10, 110, 110, 0},
		{"past end", 10, 110, 500, 0},
		{"no warm-up start", 0, 100, 0, 1},
		{"no warm-up midpoint", 0, 100, 50, 0.5},
		{"no warm-up end", 0, 100, 100, 0},
		{"negative step", 0, 100, -3, 1},
		{"warm-up longer than run", 10, 5, 4, 0.5},
		{"zero total", 0, 0, 0, 0},
	} {
		got := CosineWithWarmup(1, tc.warmup, tc.total, tc.step)
		if math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: CosineWithWarmup(1, %d, %d, %d) = %.15g, want %.15g", tc.name, tc.warmup, tc.total, tc.step, got, tc.want)
		}
	}
	if got := CosineWithWarmup(0.3, 4, 20, 12); math.Abs(got-0.15) > 1e-12 {
		t.Errorf("CosineWithWarmup(0.3, 4, 20, 12) = %g, want 0.15 (peak/2 at the decay midpoint)", got)
	}
}

func TestSchedule(t *testing.T) {
	cos := func(p float64) float64 { return 0.5 * (1 + math.Cos(math.Pi*p)) }
	for _, tc := range []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		// cosine to a fraction f: peak·(f + (1−f)·½(1+cos)), warm-up 10, T = 110.
		{"cosine f warm-up start", Schedule{Kind: "cosine", FinalFraction: 0.1, WarmupSteps: 10, TotalSteps: 110}, 0, 0.1},
		{"cosine f warm-up end", Schedule{Kind: "cosine", FinalFraction: 0.1, WarmupSteps: 10, TotalSteps: 110}, 9, 1},
		{"cosine f decay start", Schedule{Kind: "cosine", FinalFraction: 0.1, WarmupSteps: 10, TotalSteps: 110}, 10, 1},
		{"cosine f midpoint", Schedule{Kind: "cosine", FinalFraction: 0.1, WarmupSteps: 10, TotalSteps: 110}, 60, 0.1 + 0.9*0.5},
		{"cosine f quarter", Schedule{Kind: "cosine", FinalFraction: 0.2, TotalSteps: 100}, 25, 0.2 + 0.8*cos(0.25)},
		{"cosine f last step", Schedule{Kind: "cosine", FinalFraction: 0.1, TotalSteps: 100}, 99, 0.1 + 0.9*cos(0.99)},
		{"cosine f end", Schedule{Kind: "cosine", FinalFraction: 0.1, TotalSteps: 100}, 100, 0.1},
		{"cosine f 1 is constant", Schedule{Kind: "cosine", FinalFraction: 1, TotalSteps: 100}, 70, 1},
		{"cosine to 0 midpoint", Schedule{Kind: "cosine", TotalSteps: 100}, 50, 0.5},
		{"empty kind is cosine", Schedule{TotalSteps: 100}, 50, 0.5},
		// constant.
		{"constant warm-up", Schedule{Kind: "constant", WarmupSteps: 4, TotalSteps: 100}, 1, 0.5},
		{"constant start", Schedule{Kind: "constant", TotalSteps: 100}, 0, 1},
		{"constant late", Schedule{Kind: "constant", WarmupSteps: 4, TotalSteps: 100}, 99, 1},
		{"constant past end", Schedule{Kind: "constant", TotalSteps: 100}, 500, 1},
		// step: ×0.1 at steps 30 and 60, warm-up 10.
		{"step warm-up", Schedule{Kind: "step", WarmupSteps: 10, TotalSteps: 90, Milestones: []int{30, 60}}, 4, 0.5},
		{"step before the first", Schedule{Kind: "step", WarmupSteps: 10, TotalSteps: 90, Milestones: []int{30, 60}}, 29, 1},
		{"step at the first", Schedule{Kind: "step", WarmupSteps: 10, TotalSteps: 90, Milestones: []int{30, 60}}, 30, 0.1},
		{"step between", Schedule{Kind: "step", WarmupSteps: 10, TotalSteps: 90, Milestones: []int{30, 60}}, 59, 0.1},
		{"step at the second", Schedule{Kind: "step", WarmupSteps: 10, TotalSteps: 90, Milestones: []int{30, 60}}, 60, 0.01},
		{"step last", Schedule{Kind: "step", WarmupSteps: 10, TotalSteps: 90, Milestones: []int{30, 60}}, 89, 0.01},
		{"negative step", Schedule{Kind: "step", TotalSteps: 90, Milestones: []int{30}}, -5, 1},
	} {
		tc.s.Peak = 1
		s, err := NewSchedule(tc.s)
		if err != nil {
			t.Fatalf("%s: NewSchedule: %v", tc.name, err)
		}
		if got := s.LR(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: LR(%d) = %.15g, want %.15g", tc.name, tc.step, got, tc.want)
		}
		tc.s.Peak = 0.3
		s, _ = NewSchedule(tc.s)
		if got := s.LR(tc.step); math.Abs(got-0.3*tc.want) > 1e-12 {
			t.Errorf("%s: with peak 0.3, LR(%d) = %.15g, want %.15g", tc.name, tc.step, got, 0.3*tc.want)
		}
	}
}

// TestScheduleCosineIsCosineWithWarmup: the default schedule gives exactly
// the rates CosineWithWarmup gave before schedules were configurable, so
// runs stored then are reproduced bit for bit.
func TestScheduleCosineIsCosineWithWarmup(t *testing.T) {
	for _, kind := range []string{"", "cosine"} {
		s, err := NewSchedule(Schedule{Kind: kind, Peak: 0.0123, WarmupSteps: 7, TotalSteps: 97})
		if err != nil {
			t.Fatal(err)
		}
		for step := -1; step <= 100; step++ {
			if got, want := s.LR(step), CosineWithWarmup(0.0123, 7, 97, step); got != want {
				t.Fatalf("kind %q: LR(%d) = %v, CosineWithWarmup = %v", kind, step, got, want)
			}
		}
	}
}

func TestNewScheduleRejects(t *testing.T) {
	for _, tc := range []struct {
		s    Schedule
		want string
	}{
		{Schedule{Kind: "linear"}, `unknown lr_schedule "linear" (valid: cosine, constant, step)`},
		{Schedule{Kind: "cosine", FinalFraction: 1.5}, "final fraction 1.5"},
		{Schedule{Kind: "constant", FinalFraction: 0.1}, "0 unless the schedule is cosine"},
		{Schedule{Kind: "step"}, "step needs them"},
		{Schedule{Kind: "cosine", Milestones: []int{3}}, "the others take none"},
		{Schedule{Kind: "step", Milestones: []int{6, 3}}, "must increase"},
	} {
		if _, err := NewSchedule(tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSchedule(%+v) error = %v, want one containing %q", tc.s, err, tc.want)
		}
	}
}
