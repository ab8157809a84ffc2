package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// rowMaxOp is the row-wise maximum of a matrix, x [R, K] -> [R, 1], with no
// gradient (a stop-gradient): subtracting it from logits before Exp keeps
// exp ≤ 1 without changing the softmax or its gradient, since
//
//	∂/∂m [m + log Σ_k exp(x_k − m)] = 1 − Σ_k softmax(x)_k = 0.
//
// gorgonia's own Max is differentiable and SoftMax takes every row's max
// from the tensor's first element, so neither is used.
type rowMaxOp struct{}

var (
	_ gorgonia.Op   = rowMaxOp{}
	_ gorgonia.SDOp = rowMaxOp{}
)

func (rowMaxOp) Arity() int { return 1 }

func (rowMaxOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}

func (rowMaxOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("nn: row max takes 1 input, got %d", len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok || len(s) != 2 {
		return nil, fmt.Errorf("nn: row max needs a matrix, got %v", in[0])
	}
	return tensor.Shape{s[0], 1}, nil
}

func (op rowMaxOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("nn: row max takes 1 input, got %d", len(vals))
	}
	x, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("nn: row max needs a *tensor.Dense, got %T", vals[0])
	}
	out := tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(x.Shape()[0], 1))
	return op.UsePreallocDo(out, x)
}

func (rowMaxOp) UsePreallocDo(prealloc gorgonia.Value, vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("nn: row max needs a *tensor.Dense, got %T", vals[0])
	}
	out, ok := prealloc.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("nn: row max output must be a *tensor.Dense, got %T", prealloc)
	}
	cols := x.Shape()[1]
	switch d := x.Data().(type) {
	case []float32:
		rowMax(d, out.Data().([]float32), cols)
	case []float64:
		rowMax(d, out.Data().([]float64), cols)
	default:
		return nil, fmt.Errorf("nn: row max of dtype %v", x.Dtype())
	}
	return out, nil
}

func rowMax[T float32 | float64](x, out []T, cols int) {
	for r := range out {
		m := T(math.Inf(-1))
		for _, v := range x[r*cols : (r+1)*cols] {
			if v > m {
				m = v
			}
		}
		out[r] = m
	}
}

func (rowMaxOp) ReturnsPtr() bool      { return false }
func (rowMaxOp) CallsExtern() bool     { return false }
func (rowMaxOp) OverwritesInput() int  { return -1 }
func (rowMaxOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "nn.rowmax-nograd") }
func (op rowMaxOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (rowMaxOp) String() string { return "RowMaxNoGrad" }

// DiffWRT is false: no gradient flows through the row max.
func (rowMaxOp) DiffWRT(int) []bool { return []bool{false} }

func (rowMaxOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("nn: row max has no gradient")
}
