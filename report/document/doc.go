// Package document turns the runs of results.db into report.md and its
// figures: per experiment, the seed document's F1 table (one row per cell
// label, seeds as repeats), the SimCLR paper's figures redrawn from the
// runs when the data allows them (Figure 5's pairwise augmentation matrix,
// the projection-head comparison, Figure 9's batch size × epochs lines),
// pretraining curves, the best cell's confusion matrix and the runs that
// did not finish; and at the top, provenance, a note on how to read the
// numbers, a verdict on each of the paper's three findings (its evidence
// naming the score it rests on and, for Finding 1, the augmentation
// protocol of its cells) and, for each experiment with baseline
// rows (raw pixels, random-init, supervised: any method but SimCLR), its
// best SimCLR row against each baseline.
//
// Which sections an experiment gets is decided from its runs alone:
//
//	pairwise matrix   ≥ 2 SimCLR cells of a pairwise grid: tags
//	                  pair_first/pair_second, or augment_b = [crop] and
//	                  augment = [crop, t1, t2] (or [crop, t] on the diagonal);
//	                  protocol one-branch when augment_b is set, both when
//	                  not (one protocol a matrix, labelled)
//	projection heads  ≥ 2 (head, proj_dim) pairs, or evaluations on z
//	batch × epochs    ≥ 2 batch sizes or ≥ 2 epoch counts (steps instead
//	                  of epochs when every SimCLR row is given in steps)
//	curves            per-epoch metrics of finished SimCLR runs (a third
//	                  panel, kNN accuracy, when the monitor ran)
//	confusion matrix  the best row's evaluations carry one
//
// Scores are the macro F1 and accuracy of finished runs, summarised per
// row with package stats (mean ± sample std, 95% Student's t interval);
// a difference is significant when the intervals do not overlap.
//
// Build is deterministic: the same database gives the same bytes (no
// clock is read; times come from the database; every list is sorted).
package document
