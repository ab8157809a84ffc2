package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn/internal/f32"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reluOp is y = max(x₁ + … + x_k, 0) elementwise for k = 1 (ReLU) or 2
// (the residual add and ReLU of a BasicBlock, fused) inputs of one shape,
// writing into a buffer kept across runs. Its gradient with respect to
// every input is reluGradOp(y, dy) = dy where y > 0, else 0.
type reluOp struct {
	serial uint64 // its hash (writeOpHash)
	arity  int
	shape  tensor.Shape
	dt     tensor.Dtype
	out    tensor.Tensor

	// pre[i]: input i ([B, C, H, W]) is the input of a deferred BN
	// (bnOp.deferred), applied here.
	pre    [2]*bnOp
	rows   workspace      // per worker: the two loaded rows
	inputs gorgonia.Nodes // the input nodes (deferBNs)
}

var (
	_ gorgonia.Op   = (*reluOp)(nil)
	_ gorgonia.SDOp = (*reluOp)(nil)
	_ gorgonia.Op   = (*reluGradOp)(nil)
)

// reluNode applies reluOp to xs (1 or 2 nodes of one shape and dtype).
func reluNode(xs ...*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) < 1 || len(xs) > 2 {
		return nil, fmt.Errorf("relu of %d inputs, want 1 or 2", len(xs))
	}
	s, dt := xs[0].Shape(), xs[0].Dtype()
	for _, x := range xs[1:] {
		if !x.Shape().Eq(s) || x.Dtype() != dt {
			return nil, fmt.Errorf("relu of %v %v and %v %v: want one shape and dtype", dt, s, x.Dtype(), x.Shape())
		}
	}
	return gorgonia.ApplyOp(&reluOp{arity: len(xs), shape: s.Clone(), dt: dt, inputs: xs}, xs...)
}

func (op *reluOp) tt() gorgonia.TensorType {
	return gorgonia.TensorType{Dims: len(op.shape), Of: hm.TypeVariable('a')}
}
func (op *reluOp) Arity() int { return op.arity }
func (op *reluOp) Type() hm.Type {
	ts := make([]hm.Type, op.arity+1)
	for i := range ts {
		ts[i] = op.tt()
	}
	return hm.NewFnType(ts...)
}
func (op *reluOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *reluOp) ReturnsPtr() bool      { return false }
func (op *reluOp) CallsExtern() bool     { return false }
func (op *reluOp) OverwritesInput() int  { return -1 }
func (op *reluOp) WriteHash(h hash.Hash) { writeOpHash(h, "relu", &op.serial) }
func (op *reluOp) Hashcode() uint32      { return hashOf(op) }
func (op *reluOp) String() string {
	if op.arity == 2 {
		return fmt.Sprintf("AddReLU%v", op.shape)
	}
	return fmt.Sprintf("ReLU%v", op.shape)
}

func (op *reluOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	shapes := make([]tensor.Shape, op.arity)
	for i := range shapes {
		shapes[i] = op.shape
	}
	ts, err := denseN(op.String(), vals, op.dt, shapes...)
	if err != nil {
		return nil, err
	}
	y := owned(&op.out, op.dt, op.shape)
	switch d := y.Data().(type) {
	case []float32:
		reluForward(op, d, ts, func(t *tensor.Dense) []float32 { return t.Data().([]float32) })
	case []float64:
		reluForward(op, d, ts, func(t *tensor.Dense) []float64 { return t.Data().([]float64) })
	}
	return y, nil
}

func reluForward[T float32 | float64](op *reluOp, y []T, ts []*tensor.Dense, data func(*tensor.Dense) []T) {
	a := data(ts[0])
	var b []T
	if len(ts) == 2 {
		b = data(ts[1])
	}
	if op.pre != [2]*bnOp{} {
		addReLUDeferred(op, y, a, b)
		return
	}
	parallel(chunkWorkers(len(a)), len(a), func(_, lo, hi int) {
		if b == nil {
			for i, v := range a[lo:hi] {
				y[lo+i] = max(v, 0)
			}
			return
		}
		bb := b[lo:hi]
		for i, v := range a[lo:hi] {
			y[lo+i] = max(v+bb[i], 0)
		}
	})
}

// addReLUDeferred is y = max(a' + b', 0), a' and b' being a and b or, for
// an input of a deferred BN, x·scale + shift (and the BN's ReLU) with the
// coefficients of the row's channel (the same arithmetic as the op that
// stores them).
func addReLUDeferred[T float32 | float64](op *reluOp, y, a, b []T) {
	c, hw := op.shape[1], op.shape[2]*op.shape[3]
	bs := op.shape[0]
	if y32, ok := any(y).([]float32); ok {
		addReLUDeferred32(op, y32, any(a).([]float32), any(b).([]float32))
		return
	}
	load := func(dst, src []T, pre *bnOp, ch int) []T {
		if pre == nil {
			return src
		}
		affineRow(dst, src, T(pre.scale[ch]), T(pre.shift[ch]), pre.relu)
		return dst
	}
	workers := max(1, min(maxWorkers(), bs))
	rows := scratch[T](&op.rows, workers, 2*hw)
	parallel(workers, bs, func(wk, lo, hi int) {
		ra, rb := rows[wk][:hw], rows[wk][hw:2*hw]
		for i := lo; i < hi; i++ {
			for ch := 0; ch < c; ch++ {
				off := (i*c + ch) * hw
				av := load(ra, a[off:off+hw], op.pre[0], ch)
				bv := load(rb, b[off:off+hw], op.pre[1], ch)
				yr := y[off : off+hw]
				for j, v := range av {
					yr[j] = max(v+bv[j], 0)
				}
			}
		}
	})
}

// addReLUDeferred32 is addReLUDeferred for float32 in one loop a row. An
// input without a deferred BN gets scale 1, shift 0 and no ReLU: v·1 + 0
// is v but for −0, which becomes +0, and the ReLU of the sum makes both
// +0, so y is bit-identical.
func addReLUDeferred32(op *reluOp, y, a, b []float32) {
	c, hw, bs := op.shape[1], op.shape[2]*op.shape[3], op.shape[0]
	coef := func(pre *bnOp, ch int) (scale, shift float32, relu bool) {
		if pre == nil {
			return 1, 0, false
		}
		return float32(pre.scale[ch]), float32(pre.shift[ch]), pre.relu
	}
	parallel(max(1, min(maxWorkers(), bs)), bs, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			for ch := 0; ch < c; ch++ {
				off := (i*c + ch) * hw
				sa, ta, ra := coef(op.pre[0], ch)
				sb, tb, rb := coef(op.pre[1], ch)
				addAffReLURow32(y[off:off+hw], a[off:off+hw], b[off:off+hw], sa, ta, sb, tb, ra, rb)
			}
		}
	})
}

// addAffReLURow32 sets y = max(a' + b', 0) with a' = a·sa + ta (its ReLU
// when ra) and b' likewise.
func addAffReLURow32(y, a, b []float32, sa, ta, sb, tb float32, ra, rb bool) {
	a, b = a[:len(y)], b[:len(y)]
	if useAVX {
		if len(y) > 0 {
			fa, fb := float32(math.Inf(-1)), float32(math.Inf(-1))
			if ra {
				fa = 0
			}
			if rb {
				fb = 0
			}
			f32.AddAffReLU(&y[0], &a[0], &b[0], len(y), sa, ta, sb, tb, fa, fb)
		}
		return
	}
	for j := range y {
		va, vb := a[j]*sa+ta, b[j]*sb+tb
		if ra {
			va = relu32(va)
		}
		if rb {
			vb = relu32(vb)
		}
		y[j] = relu32(va + vb)
	}
}

func (op *reluOp) DiffWRT(int) []bool {
	out := make([]bool, op.arity)
	for i := range out {
		out[i] = true
	}
	return out
}

func (op *reluOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != op.arity {
		return nil, fmt.Errorf("nn: %s: %d inputs, want %d", op, len(inputs), op.arity)
	}
	g, err := gorgonia.ApplyOp(&reluGradOp{fwd: op}, output, grad)
	if err != nil {
		return nil, err
	}
	out := make(gorgonia.Nodes, op.arity)
	for i := range out {
		out[i] = g
	}
	return out, nil
}

// reluGradOp is (y, dy) -> dy·[y > 0].
type reluGradOp struct {
	serial uint64 // its hash (writeOpHash)
	fwd    *reluOp
	out    tensor.Tensor
}

func (op *reluGradOp) Arity() int { return 2 }
func (op *reluGradOp) Type() hm.Type {
	return hm.NewFnType(op.fwd.tt(), op.fwd.tt(), op.fwd.tt())
}
func (op *reluGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.fwd.shape.Clone(), nil
}
func (op *reluGradOp) ReturnsPtr() bool      { return false }
func (op *reluGradOp) CallsExtern() bool     { return false }
func (op *reluGradOp) OverwritesInput() int  { return -1 }
func (op *reluGradOp) WriteHash(h hash.Hash) { writeOpHash(h, "relugrad", &op.serial) }
func (op *reluGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *reluGradOp) String() string        { return "Grad" + op.fwd.String() }

func (op *reluGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	f := op.fwd
	ts, err := denseN(op.String(), vals, f.dt, f.shape, f.shape)
	if err != nil {
		return nil, err
	}
	dx := owned(&op.out, f.dt, f.shape)
	switch d := dx.Data().(type) {
	case []float32:
		reluBackward(d, ts[0].Data().([]float32), ts[1].Data().([]float32))
	case []float64:
		reluBackward(d, ts[0].Data().([]float64), ts[1].Data().([]float64))
	}
	return dx, nil
}

func reluBackward[T float32 | float64](dx, y, dy []T) {
	parallel(chunkWorkers(len(y)), len(y), func(_, lo, hi int) {
		maskRow(dx[lo:hi], dy[lo:hi], y[lo:hi])
	})
}
