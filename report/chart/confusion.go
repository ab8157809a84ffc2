package chart

import "math"

// RowFractions divides each row of a confusion matrix of counts ([true
// class][predicted class]) by the row's total, so that a row shows where
// the images of one true class went. The result is n×n for n rows; a
// cell is NaN when its row has no count (total 0) or is shorter than n.
func RowFractions(counts [][]int) [][]float64 {
	n := len(counts)
	out := make([][]float64, n)
	for i, row := range counts {
		total := 0
		for _, c := range row {
			total += c
		}
		out[i] = make([]float64, n)
		for j := range out[i] {
			out[i][j] = math.NaN()
			if total > 0 && j < len(row) {
				out[i][j] = float64(row[j]) / float64(total)
			}
		}
	}
	return out
}

// Confusion is the heat map of a confusion matrix: true classes as rows,
// predicted classes as columns, both named by classes, and the cells the
// fractions of each true class (RowFractions) printed to two decimals on
// a fixed 0–1 colour scale.
func Confusion(title string, classes []string, fractions [][]float64) *Heatmap {
	return &Heatmap{
		Title:      title,
		XLabel:     "predicted class",
		YLabel:     "true class",
		Columns:    classes,
		Rows:       classes,
		Values:     fractions,
		Format:     "%.2f",
		Min:        0,
		Max:        1,
		ScaleLabel: "fraction of the true class (0–1)",
	}
}
