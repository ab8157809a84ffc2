// Package knn is the weighted k-nearest-neighbour classifier of the online
// monitors of self-supervised training (InstDisc, Wu et al. 2018;
// solo-learn's WeightedKNNClassifier): the k training features most
// similar to a test feature vote for their labels, each with weight
// exp(sim/τ), and the class with the largest total wins:
//
//	score_c(x) = Σ_{i ∈ top-k(x)} exp(sim(x, xᵢ)/τ) · [yᵢ = c]
//
// with sim the cosine similarity. It reads features only: no engine, no
// gradients. Results do not depend on the number of goroutines: each test
// row is computed alone, in a fixed order, in float64.
package knn
