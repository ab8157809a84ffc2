package nn

import (
	"sync/atomic"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/simclr-ablate/simclr-ablate/simclr/nn/internal/f32"
)

// addEngine is tensor's StdEng with a float32 Add split between the
// workers. gorgonia's autodiff sums the gradients of a node with several
// consumers (a residual block's input: its first convolution and the
// shortcut) with Add, which StdEng runs on one core over whole
// activations (3% of a step's CPU time, and the other core idle
// meanwhile). tensor.Add dispatches on its first operand's engine, and the
// tape machine gives every value it writes its own (Compile passes this
// one).
type addEngine struct{ gorgonia.StandardEngine }

// fastAdds counts the Adds addEngine ran itself (for the tests; atomic:
// a runner trains several cells at once).
var fastAdds atomic.Int64

func (e addEngine) Add(a, b tensor.Tensor, opts ...tensor.FuncOpt) (tensor.Tensor, error) {
	fo := tensor.ParseFuncOpts(opts...)
	reuse, incr := fo.Reuse(), fo.Incr()
	ad, aok := a.(*tensor.Dense)
	bd, bok := b.(*tensor.Dense)
	rd, rok := reuse.(*tensor.Dense)
	if !aok || !bok || !rok || incr != nil || ad.Dtype() != tensor.Float32 || bd.Dtype() != tensor.Float32 ||
		rd.Dtype() != tensor.Float32 || !ad.Shape().Eq(bd.Shape()) || rd.Shape().TotalSize() != ad.Shape().TotalSize() ||
		ad.RequiresIterator() || bd.RequiresIterator() || rd.RequiresIterator() {
		return e.StandardEngine.Add(a, b, opts...)
	}
	x, y, z := ad.Data().([]float32), bd.Data().([]float32), rd.Data().([]float32)
	addVV(z, x, y)
	fastAdds.Add(1)
	return rd, nil
}

// addVV sets dst = a + b (dst may be a or b).
func addVV(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	parallel(chunkWorkers(len(dst)), len(dst), func(_, lo, hi int) {
		if lo == hi {
			return
		}
		if useAVX {
			f32.Add(&dst[lo], &a[lo], &b[lo], hi-lo)
			return
		}
		for i := lo; i < hi; i++ {
			dst[i] = a[i] + b[i]
		}
	})
}
