//go:build openblas

package nn

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int num_threads);
*/
import "C"

import "gonum.org/v1/netlib/blas/netlib"

// With the openblas build tag the convolutions multiply with OpenBLAS
// through gonum's netlib (cgo; Debian's libopenblas-dev). OpenBLAS runs
// single-threaded whatever OPENBLAS_NUM_THREADS says: the convolutions
// already split the batch between GOMAXPROCS workers, and OpenBLAS threads
// on top of them oversubscribe the cores (measured: 600 instead of 1 070
// views/s for a pretraining cell on 2 cores).
func init() {
	C.openblas_set_num_threads(1)
	blasName = "openblas"
	sgemm = netlib.Implementation{}.Sgemm
	dgemm = netlib.Implementation{}.Dgemm
}
