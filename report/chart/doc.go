// Package chart draws the report's figures as PNG images of Width×Height
// pixels (1200×800 at 96 dpi) with gonum.org/v1/plot: heat maps with
// values printed in the cells and a colour scale (Heatmap; Confusion for
// a confusion matrix, its counts turned into fractions of each true class
// by RowFractions, as report build and report serve draw it), grouped bar
// charts with error bars (Bars) and line charts with error bars or shaded
// bands, one panel or several side by side (Lines, Panels).
//
// Every figure has a title, axis labels and, when it has more than one
// series, a legend drawn in a column to the right of the plotting area so
// that it never covers data. Text that would not fit (a cell value in a
// small cell, a long legend entry) is shrunk or shortened with "…", never
// drawn over other text.
//
// Inputs are plain slices; NaN marks a missing value (a cell without
// finished runs). Empty or inconsistent inputs are errors, and a panic
// inside the plotting library is returned as an error, so a data
// problem never crashes report build.
package chart
