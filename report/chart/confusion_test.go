package chart

import (
	"fmt"
	"math"
	"testing"
)

func TestRowFractions(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		counts [][]int
		want   [][]float64
	}{
		{
			name:   "each row over its total",
			counts: [][]int{{3, 1}, {0, 4}},
			want:   [][]float64{{0.75, 0.25}, {0, 1}},
		},
		{
			name:   "a row without counts is NaN",
			counts: [][]int{{2, 2}, {0, 0}},
			want:   [][]float64{{0.5, 0.5}, {nan, nan}},
		},
		{
			name:   "a short row: the missing cells are NaN, the total is the row's",
			counts: [][]int{{1, 3}, {4}},
			want:   [][]float64{{0.25, 0.75}, {1, nan}},
		},
		{
			name:   "a long row: n×n kept, the total counts every cell",
			counts: [][]int{{1, 1, 2}, {0, 2}},
			want:   [][]float64{{0.25, 0.25}, {0, 1}},
		},
		{
			name:   "empty",
			counts: nil,
			want:   [][]float64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RowFractions(tt.counts)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("RowFractions(%v) = %v, want %v", tt.counts, got, tt.want)
			}
		})
	}
}

func TestConfusionPNG(t *testing.T) {
	classes := []string{"T-shirt/top", "Trouser", "Pullover"}
	fractions := RowFractions([][]int{{80, 5, 15}, {2, 97, 1}, {0, 0, 0}})
	h := Confusion("Run 7: crop+color, seed 1, linear on h", classes, fractions)
	if h.Min != 0 || h.Max != 1 || h.Format != "%.2f" {
		t.Errorf("Confusion scale %v–%v, format %q; want 0–1 and %%.2f", h.Min, h.Max, h.Format)
	}
	if h.XLabel != "predicted class" || h.YLabel != "true class" {
		t.Errorf("Confusion axes %q, %q; want predicted class, true class", h.XLabel, h.YLabel)
	}
	if len(h.Rows) != 3 || len(h.Columns) != 3 || h.Values[1][1] != 0.97 {
		t.Errorf("Confusion rows %v, columns %v, values %v; want the classes and the fractions", h.Rows, h.Columns, h.Values)
	}
	png, err := h.PNG()
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, "confusion", png, 0.05)
}
