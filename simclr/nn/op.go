package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

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

// Op hashes. gorgonia identifies a node by a 32-bit hash of its op's hash
// and its children's (Node.Hashcode); when it compiles a graph, its value
// numbering (analyze in gorgonia's analysis.go) keeps one node per hash,
// with no further check: a node whose hash equals another's reads the
// other's value. Each op instance of this package hashes as its kind and a
// serial number never given before (opSerial), so that no two of its ops
// are one to gorgonia, and a network built again hashes differently: Compile
// refuses a graph with two nodes of one hash (ErrHashCollision) and the
// caller builds it again.

// opSerials numbers the package's op instances, from 1.
var opSerials atomic.Uint64

// writeOpHash writes an op's kind and serial number to h, numbering the
// op (*serial) the first time. Graph building is single-threaded, like
// gorgonia's.
func writeOpHash(h hash.Hash, kind string, serial *uint64) {
	if *serial == 0 {
		*serial = opSerials.Add(1)
	}
	fmt.Fprintf(h, "nn.%s#%d", kind, *serial)
}

// hashOf is an op's Hashcode: FNV-1a of what its WriteHash writes.
func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
