//go:build openblas

package nn

import "gonum.org/v1/netlib/blas/netlib"

// With the openblas build tag the convolutions multiply with OpenBLAS
// through gonum's netlib (cgo): build with CGO_LDFLAGS=-lopenblas and
// Debian's libopenblas-dev, and set OPENBLAS_NUM_THREADS=1 (the
// convolutions already split the batch between GOMAXPROCS workers).
func init() {
	blasName = "openblas"
	sgemm = netlib.Implementation{}.Sgemm
	dgemm = netlib.Implementation{}.Dgemm
}
