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
