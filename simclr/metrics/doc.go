// Package metrics scores a classifier's predictions: accuracy, per-class
// and macro-averaged F1, and the confusion matrix — the numbers the SimCLR
// seed table reports.
package metrics
