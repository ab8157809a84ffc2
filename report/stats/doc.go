// Package stats summarises the repeats (seeds) of a report row: mean,
// sample standard deviation and a 95% Student's t interval, and the rule
// the report uses to call a difference significant.
//
// For n values x₁ … xₙ:
//
//	mean = Σ xᵢ / n
//	std  = √( Σ (xᵢ − mean)² / (n − 1) )          (sample, as torch.std)
//	CI   = mean ± t(0.975, n − 1) · std / √n      (95%, two-sided)
//
// Two summaries differ significantly when both have n ≥ 2 and their
// intervals do not overlap. This is conservative (non-overlapping 95%
// intervals imply p < 0.05 for a two-sample test, not the reverse) and easy
// to check by eye in the tables.
package stats
