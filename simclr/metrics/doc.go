// Package metrics scores a classifier's predictions — accuracy, per-class
// and macro-averaged F1, and the confusion matrix, the numbers the SimCLR
// seed table reports — and holds the plain records of a cell's run
// (EpochStats, StepStats, Evaluation, Result) that the training engine
// produces and the results database stores.
package metrics
