// Package logreg is the linear-evaluation probe of SimCLR: multinomial
// logistic regression with an L2 penalty, trained on frozen features (the
// encoder's h or z, or raw pixels for the baseline).
//
// Features are standardised with the training set's per-feature mean and
// standard deviation (floored at 1e-6, so constant pixels are harmless);
// the model is then
//
//	p(y = k | x) = softmax(W·x̂ + b)_k,   x̂_j = (x_j − mean_j)/std_j
//
// and training minimises the mean cross-entropy plus an L2 penalty on W
// (the bias is not penalised):
//
//	f(W, b) = (1/n) Σ_i −log p(y_i | x_i) + (λ/2)·‖W‖²
//
// with full-batch L-BFGS (gonum/optimize) from W = 0, b = 0. The objective
// is convex (strictly so for λ > 0), so the result depends only on the
// data and λ: no seed, no shuffling. Each evaluation of f and ∇f runs over
// the rows in fixed blocks on all cores (gonum's BLAS for the products);
// block partial sums are added in block order, so results are bit-for-bit
// the same whatever the number of cores.
//
// Train takes the features as one matrix in memory; TrainRows and
// PredictRows read them a block of rows at a time from a Rows (raw pixels
// rendered on demand), so that only a block per core is ever in memory,
// and fit the same model bit for bit.
package logreg
