// Package grid reads experiment grid files (TOML) and expands them into
// cells: one fully resolved, validated config.Config each. It is the
// front half of the runner; it knows nothing of training or SQLite.
//
// # File format
//
//	name = "augment_ablation"     # required, [a-z0-9_-]+
//	description = "..."           # optional
//	seeds = [1, 2, 3]             # optional, here or in [base]; default [1]
//	max_cells = 20000             # optional, replaces the limit of 10000
//
//	[base]                        # settings every cell shares (over config.DefaultConfig)
//	dataset = "fashion-mnist"
//	epochs = 10
//
//	[grid]                        # axes: the cells are their cartesian product
//	temperature = [0.1, 0.5]      # one value per cell
//	augment = [["crop", "color"], ["crop"]]  # list settings: a list of lists
//
//	[[variant]]                   # named rows (of an F1 table)
//	label = "all augmentations"
//	augment = ["crop", "flip", "color"]
//	[[variant]]
//	label = "raw pixels"          # baselines are variants too
//	method = "raw-pixels"
//
//	[pairwise]                    # Figure 5: every ordered pair of transforms
//	transforms = ["crop", "cutout", "color", "sobel", "noise", "blur", "rotate"]
//	focus = ["crop", "color"]     # optional: other pairs at the first seed only
//	protocol = "one-branch"       # optional: or "both" (the pair on both branches)
//	crop_first = true             # optional: false (protocol both) crops only when the pair says crop
//
//	[[exclude]]                   # drop every cell matching all keys of a rule
//	augment = ["crop"]
//	temperature = 0.1
//
// Settings are the fields of config.Config as config.Settings describes
// them, named by their toml tags (dataset, augment, batch_size, ...), the
// same in the base, grid, variant and exclude tables and in --set. The setting seed is not written
// directly: seeds lists the seeds, and every cell runs once per seed.
//
// # Expansion
//
// Rows are the variants in file order, then the pairwise pairs; with
// neither, one unnamed row. The cells are
//
//	seeds × rows × axis₁ × axis₂ × … − excluded cells
//
// in that order: seeds outermost (so that an interrupted run has a whole
// table for the first seed), then rows, then the axes in file order with
// the last axis varying fastest. A cell's config is config.DefaultConfig(),
// then [base], then its axis values, then its row's settings, then every
// --set override; Seed is the seed. A variant may not set a key that is
// also an axis, nor may --set, so that no axis silently collapses.
//
// Pairwise: for every ordered pair (t1, t2) of the listed transforms, the
// first branch is augment = ["crop", t1, t2] and the second is
// augment_b = ["crop"]; on the diagonal (t1 == t2) augment = ["crop", t1].
// Every view is first cropped (the protocol of SimCLR Figure 5; unless
// crop_first = false, below), so "crop"
// in the list is a second crop of the already cropped view: the diagonal
// cell "crop" is ["crop", "crop"] and the pair crop+color is ["crop",
// "crop", "color"]. Collapsing the repeated crop would make crop+color the
// same cell as the color diagonal. The cells carry Tags pair_first = t1
// and pair_second = t2 for the heatmap. That is protocol "one-branch",
// the default; protocol "both" (SimCLR's training recipe) leaves
// augment_b unset instead, even when [base] sets it, so that both
// branches make their views with crop and the pair. With protocol "both",
// crop_first = false drops the leading crop: augment = [t1, t2], and
// [t1] on the diagonal, so the diagonal is one transform alone, crop
// included (Figure 5 crops first only because ImageNet
// images differ in size). The one-branch protocol refuses it: its second
// branch is that crop.
//
// Steps: a cell that sets steps (the training length in optimiser steps)
// and does not set epochs gets epochs = 0, so that steps decides; a cell
// that sets both is refused.
//
// Focus: with focus = ["crop", "color"] in [pairwise], only the diagonal
// and the rows and columns of the focused transforms run at every seed;
// the other pairs run at the first seed only. That buys error bars where
// the paper's claims are (single transforms, crop with colour) without
// repeating the whole matrix.
//
// Exclude rules match a cell when every key of the rule equals the cell's
// value (lists element by element, in order); "label" matches the row's
// label and "seed" the seed. Rules see the cells before --set. A rule
// that matches no cell is an error (it is almost always a typo), and so
// is excluding every cell.
//
// Labels: a cell's label is its row's label (a variant's label, else
// "key=value, ..." of the variant's settings, else "base"; a pair's
// "t1+t2", or "t1" on the diagonal), followed by the values of the axes
// with more than one value in parentheses: "raw pixels (temperature=0.1)".
// Without rows the label is the axis values alone, "temperature=0.1,
// batch_size=256", and without either it is the grid's name. The label is
// the same for every seed of a cell; two rows may not share a label.
//
// Cell.Varying holds, rendered as text, the settings whose value is not
// the same in every cell of the grid (seed left out); values render as
// bare strings, shortest exact numbers and lists as "[crop,color]".
//
// # Strictness
//
// Parse rejects, with an *Error naming file, line and key: TOML syntax
// errors (including a key or table given twice), unknown keys (with the
// closest valid name as a suggestion, else the valid names), values of
// the wrong type, empty or duplicate-valued axes, an expansion over the
// limit (computed before any cell is built), and any cell that
// config.Config.Validate rejects, placed where the offending key was set
// for that cell: a --set override, the variant, the axis, or [base]. Two
// cells with the same settings and seed are an error naming both labels.
// Nothing is run until every cell is valid. What the file alone cannot
// show, such as a dataset folder that does not exist, a caller checks
// after Load and reports with Grid.CellError at the same place.
package grid
