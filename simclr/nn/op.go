package nn

import (
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Glue every custom op of the package (conv_op.go, bn.go, relu.go) uses.

// owned returns *t, the op's output tensor, allocating a zeroed one of the
// shape and dtype when it is nil: at the first run, unless planBuffers
// has given the op a slice of a shared arena (buffers.go).
func owned(t *tensor.Tensor, dt tensor.Dtype, s tensor.Shape) *tensor.Dense {
	if *t == nil {
		*t = tensor.New(tensor.Of(dt), tensor.WithShape(s...))
	}
	return (*t).(*tensor.Dense)
}

// fourD is the type of a 4-D tensor of any dtype, for the ops' Type.
func fourD() gorgonia.TensorType { return gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')} }

// hashOf is an op's Hashcode: FNV-1a of what its WriteHash writes.
func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
