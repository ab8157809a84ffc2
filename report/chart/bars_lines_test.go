package chart

import (
	"errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg/draw"
	"math"
	"strings"
	"testing"
)

func headBars() *Bars {
	nan := math.NaN()
	return &Bars{
		Title:       "Linear evaluation F1 by projection head (Finding 2)",
		XLabel:      "projection head, output dimension",
		YLabel:      "macro F1 (linear evaluation)",
		Groups:      []string{"none", "linear 32", "linear 128", "nonlinear 32", "nonlinear 128"},
		LegendTitle: "features",
		Series: []BarSeries{
			{Name: "h (encoder output)", Values: []float64{0.70, 0.74, 0.75, 0.78, 0.79}, Err: []float64{0.01, 0.02, 0.015, 0.01, nan}},
			{Name: "z (projection output)", Values: []float64{nan, 0.62, 0.64, 0.60, 0.61}, Err: []float64{nan, 0.02, 0.01, 0.03, 0.02}},
		},
	}
}

func TestBarsPNG(t *testing.T) {
	b, err := headBars().PNG()
	if err != nil {
		t.Fatalf("Bars.PNG() = %v", err)
	}
	checkPNG(t, "bars", b, 0.1)
}

func TestBarsErrors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		b    Bars
	}{
		{"no groups", Bars{Series: []BarSeries{{Name: "a"}}}},
		{"no series", Bars{Groups: []string{"g"}}},
		{"short values", Bars{Groups: []string{"g", "h"}, Series: []BarSeries{{Values: []float64{1}}}}},
		{"short errors", Bars{Groups: []string{"g"}, Series: []BarSeries{{Values: []float64{1}, Err: []float64{1, 2}}}}},
		{"all NaN", Bars{Groups: []string{"g"}, Series: []BarSeries{{Values: []float64{nan}}}}},
	}
	for _, tt := range tests {
		if _, err := tt.b.PNG(); err == nil {
			t.Errorf("Bars{%s}.PNG() = nil error, want an error", tt.name)
		}
	}
}

func scalingLines() *Lines {
	return &Lines{
		Title:  "Linear evaluation F1 by training length and batch size (Figure 9)",
		XLabel: "pretraining epochs",
		YLabel: "macro F1 (linear evaluation)",
		XTicks: []float64{5, 10, 20},
		Dodge:  true,
		Series: []LineSeries{
			{Name: "batch 64", X: []float64{5, 10, 20}, Y: []float64{0.60, 0.66, 0.70}, Err: []float64{0.01, 0.02, 0.01}},
			{Name: "batch 128", X: []float64{5, 10, 20}, Y: []float64{0.63, 0.69, 0.72}, Err: []float64{0.02, 0.01, 0.01}},
			{Name: "batch 256", X: []float64{5, 10, 20}, Y: []float64{0.65, math.NaN(), 0.74}, Err: []float64{0.01, 0.02, 0.02}},
		},
	}
}

func TestLinesPNG(t *testing.T) {
	b, err := scalingLines().PNG("batch size")
	if err != nil {
		t.Fatalf("Lines.PNG() = %v", err)
	}
	checkPNG(t, "lines", b, 0.015)
}

func TestPanelsPNG(t *testing.T) {
	var loss, acc []LineSeries
	for k := range 12 {
		x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
		ly, ay, e := make([]float64, 10), make([]float64, 10), make([]float64, 10)
		for i := range x {
			ly[i] = 6 - 0.25*x[i]*(1+0.05*float64(k))
			ay[i] = 0.1 + 0.05*x[i]*(1+0.03*float64(k))
			e[i] = 0.05 + 0.01*float64(k%3)
		}
		name := "cell number " + string(rune('A'+k))
		if k == 3 {
			name = "head=nonlinear, proj_dim=128, batch_size=256, epochs=100, temperature=0.5, a very long label"
		}
		loss = append(loss, LineSeries{Name: name, X: x, Y: ly, Err: e, Band: true})
		acc = append(acc, LineSeries{Name: name, X: x, Y: ay, Err: e, Band: true})
	}
	b, err := Panels("Pretraining curves (mean over seeds, band: ± std)", "cell", []Lines{
		{Title: "NT-Xent loss", XLabel: "epoch", YLabel: "loss (nats)", Series: loss},
		{Title: "Contrastive accuracy", XLabel: "epoch", YLabel: "fraction of anchors", Series: acc},
	})
	if err != nil {
		t.Fatalf("Panels() = %v", err)
	}
	checkPNG(t, "panels", b, 0.05)
}

func TestLinesErrors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		l    Lines
	}{
		{"no series", Lines{}},
		{"x y mismatch", Lines{Series: []LineSeries{{X: []float64{1, 2}, Y: []float64{1}}}}},
		{"err mismatch", Lines{Series: []LineSeries{{X: []float64{1}, Y: []float64{1}, Err: []float64{1, 2}}}}},
		{"all NaN", Lines{Series: []LineSeries{{X: []float64{1}, Y: []float64{nan}}}}},
	}
	for _, tt := range tests {
		if _, err := tt.l.PNG(""); err == nil {
			t.Errorf("Lines{%s}.PNG() = nil error, want an error", tt.name)
		}
	}
	if _, err := Panels("", "", nil); err == nil {
		t.Errorf("Panels(no panels) = nil error, want an error")
	}
}

func TestRenderRecoversPanic(t *testing.T) {
	_, err := render(func(c draw.Canvas) error { panic("boom") })
	if !errors.Is(err, errPanic) {
		t.Errorf("render(panicking) = %v, want an error wrapping errPanic", err)
	}
}

func TestDenseTicks(t *testing.T) {
	labels := func(ts []plot.Tick) []string {
		var out []string
		for _, tk := range ts {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	tests := []struct {
		lo, hi float64
		ints   bool
		want   string
	}{
		{0, 0.86, false, "0.0 0.2 0.4 0.6 0.8"},
		{0.59, 0.76, false, "0.600 0.625 0.650 0.675 0.700 0.725 0.750"},
		{1, 20, true, "5 10 15 20"},
		{1, 10, true, "2 4 6 8 10"},
		{1, 20, false, "2.5 5.0 7.5 10.0 12.5 15.0 17.5 20.0"},
		{1, 3, true, "1 2 3"},
		{2.3, 5.7, false, "2.5 3.0 3.5 4.0 4.5 5.0 5.5"},
	}
	for _, tt := range tests {
		got := strings.Join(labels(denseTicks{ints: tt.ints}.Ticks(tt.lo, tt.hi)), " ")
		if got != tt.want {
			t.Errorf("denseTicks{ints: %v}.Ticks(%v, %v) labels = %q, want %q", tt.ints, tt.lo, tt.hi, got, tt.want)
		}
	}
}
