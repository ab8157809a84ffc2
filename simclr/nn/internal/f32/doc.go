// Package f32 holds the float32 row kernels of package nn's batch norm,
// ReLU and convolution ops as AVX2 + FMA assembly: affine maps with and
// without ReLU, ReLU masks, the batch-norm gradient's sums and its ∂x, the
// residual add of deferred batch norms, and the stride-2 gather of the
// convolutions' phase planes. Each is the loop of the same name in nn's
// kernels.go, eight values a step; nn calls them when Available and runs
// its Go loops otherwise.
//
// They live in their own package because a Go package cannot hold both cgo
// (nn's OpenBLAS binding) and assembly. Pointers and lengths are taken as
// given: the caller checks the bounds.
package f32
