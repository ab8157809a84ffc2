package nn

import (
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// owned returns *t, allocating a zeroed tensor of the shape and dtype the
// first time.
func owned(t *tensor.Tensor, dt tensor.Dtype, s tensor.Shape) *tensor.Dense {
	if *t == nil {
		*t = tensor.New(tensor.Of(dt), tensor.WithShape(s...))
	}
	return (*t).(*tensor.Dense)
}

func fourD() gorgonia.TensorType { return gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')} }

func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
