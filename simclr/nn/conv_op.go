package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The convolution (conv2dRef in conv_ref.go is its definition) as three
// gorgonia ops that keep their buffers across runs: convOp (forward),
// convGradXOp and convGradWOp (its two gradients, made by
// convOp.SymDiff). This file is their gorgonia glue; geom.go lays out an
// image in phase planes, conv_gemm.go runs the products, and the batch is
// cut into chunks that runtime.GOMAXPROCS workers take in turn (chunks in
// schedule.go), each working image by image.
//
// 1×1 stride-1 convolutions without padding multiply x_b directly:
// y_b [out, P] = W [out, in] · x_b [in, P]. Every other convolution is an
// implicit GEMM over the image's phase planes (convGeom.padded): no im2col
// matrix is ever built. Each image is copied once into its zero-bordered
// phase planes, and for every kernel tap (i, j) the inputs of all outputs
// are a [in, P'] matrix inside them (leading dimension chanLen), so
//
//	forward  y_b       = Σ_taps W_ij [out, in] · planes_ij [in, P']      (k² GEMMs, K = in)
//	grad w   dW_ij     = Σ_b dy_b [out, P'] · planes_ijᵀ [P', in]
//	grad x   dplanes_ij += W_ijᵀ [in, out] · dy_b [out, P'], then back to dx
//
// with the weights copied once a run into the layout of the products
// (gemmWeights: W_ij contiguous). The forward instead multiplies the k
// taps of a kernel row at once, K = k·in (convGeom.grouped: k column
// planes per row phase, the extra ones shifted copies; the step 2–5%
// faster); ∂w, and ∂x when it is not a convolution of dy, keep a product
// per tap on the plain phase planes (convGeom.flat). The stride-1 3×3
// convolutions instead run all three as Winograd's F(2×2, 3×3)
// (conv_wino.go). Stride-1
// convolutions on phase planes with pad ≤ k − 1 compute grad x instead as
// the forward convolution of dy with the flipped, transposed weights
// (convGeom.back). Against im2col + one SGEMM per image, skipping the
// k²-times larger col matrix made the forward of resnet-small's three
// 3×3 stride-1 stages 26–31% faster and the whole SimCLR step 16–24%
// (OpenBLAS); for the strided convolutions it measured the same.
//
// Each op writes its output into op.out, a tensor kept across runs and
// overwritten by the next: its own (owned allocates it at the first run)
// or, for convOp and convGradXOp, a slice of the arena that buffers.go
// shares between nodes whose lifetimes do not overlap. The scratch is kept
// in the ops too (convBuffers, and the ∂w partial sums a graph's
// convolutions share), so a Net's ops must not run on two goroutines at
// once: one Net, one goroutine.

// conv2dNode applies the convolution op to x [B, in, H, W] and w [out, in,
// k, k]; noGradX leaves out ∂x (x is an input no gradient is wanted for).
// parts holds the ∂w ops' partial sums: one per graph serves all its
// convolutions (they run one at a time); nil gives the op its own.
func conv2dNode(x, w *gorgonia.Node, stride, pad int, noGradX bool, parts *workspace) (*gorgonia.Node, error) {
	g, err := newConvGeom(x.Shape(), w.Shape(), x.Dtype(), stride, pad)
	if err != nil {
		return nil, err
	}
	if w.Dtype() != x.Dtype() {
		return nil, fmt.Errorf("conv2d: x is %v, w is %v", x.Dtype(), w.Dtype())
	}
	if parts == nil {
		parts = new(workspace)
	}
	return gorgonia.ApplyOp(&convOp{g: g, noGradX: noGradX, x: x, parts: parts}, x, w)
}

// convBuffers is a convolution op's scratch, grown on demand and kept
// across runs. Phase-plane convolutions use all three (∂w all but
// weights); direct ones (1×1, stride 1, no padding) none.
type convBuffers struct {
	weights workspace // one slice: the weights in the layout of the products (gemmWeights)
	planes  workspace // per worker: the phase planes of one image, or their ∂ (convBackX)
	wide    workspace // per worker: the output (or dy) rows of one image at the planes' width wp
}

// convOp is the forward convolution: (x, w) -> y.
type convOp struct {
	serial uint64 // its hash (writeOpHash)
	g      *convGeom
	out    tensor.Tensor
	bufs   convBuffers

	// noGradX: x needs no gradient (see DiffWRT).
	noGradX bool
	parts   *workspace     // per chunk: the ∂w op's partial sums, shared by the graph's convolutions
	x       *gorgonia.Node // the input node (deferBNs defers the BN that produces it)

	// pre: x is the input of a deferred BN (bnOp.deferred), which the
	// convolution applies while copying x into its phase planes.
	pre *bnOp

	// sums: every run also sums each output channel and its square, per
	// chunk into acc[c][o] and acc[c][out+o], while the image is in
	// cache, for the batch norm that consumes the output (bnOp.src).
	sums bool
	acc  [][]float64
}

// channelSums returns the per-chunk accumulators, zeroed.
func (op *convOp) channelSums() [][]float64 {
	if n := numChunks(op.g.b); len(op.acc) != n {
		op.acc = make([][]float64, n)
		for i := range op.acc {
			op.acc[i] = make([]float64, 2*op.g.out)
		}
	}
	for _, a := range op.acc {
		clear(a)
	}
	return op.acc
}

var (
	_ gorgonia.Op   = (*convOp)(nil)
	_ gorgonia.SDOp = (*convOp)(nil)
	_ gorgonia.Op   = (*convGradXOp)(nil)
	_ gorgonia.Op   = (*convGradWOp)(nil)
)

func (op *convOp) Arity() int { return 2 }
func (op *convOp) Type() hm.Type {
	return hm.NewFnType(fourD(), fourD(), fourD())
}
func (op *convOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.g.yShape.Clone(), nil
}
func (op *convOp) ReturnsPtr() bool      { return false }
func (op *convOp) CallsExtern() bool     { return false }
func (op *convOp) OverwritesInput() int  { return -1 }
func (op *convOp) WriteHash(h hash.Hash) { writeOpHash(h, "conv", &op.serial) }
func (op *convOp) Hashcode() uint32      { return hashOf(op) }
func (op *convOp) String() string        { return "Conv" + op.g.String() }

func (op *convOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, w, err := denseInputs(op.String(), vals, op.g.xShape, op.g.wShape)
	if err != nil {
		return nil, err
	}
	y := owned(&op.out, op.g.dt, op.g.yShape)
	var sums [][]float64
	if op.sums {
		sums = op.channelSums()
	}
	switch xd := x.Data().(type) {
	case []float32:
		convForward(op.g, &op.bufs, xd, w.Data().([]float32), y.Data().([]float32), sums, op.pre)
	case []float64:
		convForward(op.g, &op.bufs, xd, w.Data().([]float64), y.Data().([]float64), sums, op.pre)
	default:
		return nil, fmt.Errorf("nn: %s: dtype %v", op, x.Dtype())
	}
	return y, nil
}

// DiffWRT: no gradient for x when x is a leaf no gradient is wanted for
// (the network input), which saves a whole convolution per step.
func (op *convOp) DiffWRT(int) []bool { return []bool{!op.noGradX, true} }

func (op *convOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op, len(inputs))
	}
	var dx *gorgonia.Node
	if !op.noGradX {
		var err error
		if dx, err = gorgonia.ApplyOp(&convGradXOp{g: op.g}, inputs[1], grad); err != nil {
			return nil, err
		}
	}
	dw, err := gorgonia.ApplyOp(&convGradWOp{g: op.g, pre: op.pre, parts: op.parts}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw}, nil
}

// convGradXOp is ∂L/∂x of the convolution: (w, dy) -> dx.
type convGradXOp struct {
	serial uint64 // its hash (writeOpHash)
	g      *convGeom
	out    tensor.Tensor
	bufs   convBuffers // with g.back as convOp's, dy in x's place; else ∂ of x's planes and wide dy rows
	flip   workspace   // one slice: the flipped, transposed weights for g.back (flipWeights)
}

func (op *convGradXOp) Arity() int { return 2 }
func (op *convGradXOp) Type() hm.Type {
	return hm.NewFnType(fourD(), fourD(), fourD())
}
func (op *convGradXOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.g.xShape.Clone(), nil
}
func (op *convGradXOp) ReturnsPtr() bool      { return false }
func (op *convGradXOp) CallsExtern() bool     { return false }
func (op *convGradXOp) OverwritesInput() int  { return -1 }
func (op *convGradXOp) WriteHash(h hash.Hash) { writeOpHash(h, "convgradx", &op.serial) }
func (op *convGradXOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradXOp) String() string        { return "ConvGradX" + op.g.String() }

func (op *convGradXOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	w, dy, err := denseInputs(op.String(), vals, op.g.wShape, op.g.yShape)
	if err != nil {
		return nil, err
	}
	dx := owned(&op.out, op.g.dt, op.g.xShape)
	if t := op.g.back; t != nil {
		switch wd := w.Data().(type) {
		case []float32:
			wf := flipWeights(op.g, wd, &op.flip.f32)
			convForward(t, &op.bufs, dy.Data().([]float32), wf, dx.Data().([]float32), nil, nil)
		case []float64:
			wf := flipWeights(op.g, wd, &op.flip.f64)
			convForward(t, &op.bufs, dy.Data().([]float64), wf, dx.Data().([]float64), nil, nil)
		default:
			return nil, fmt.Errorf("nn: %s: dtype %v", op, w.Dtype())
		}
		return dx, nil
	}
	switch wd := w.Data().(type) {
	case []float32:
		convBackX(op.g, &op.bufs, wd, dy.Data().([]float32), dx.Data().([]float32))
	case []float64:
		convBackX(op.g, &op.bufs, wd, dy.Data().([]float64), dx.Data().([]float64))
	default:
		return nil, fmt.Errorf("nn: %s: dtype %v", op, w.Dtype())
	}
	return dx, nil
}

// convGradWOp is ∂L/∂w of the convolution: (x, dy) -> dw.
type convGradWOp struct {
	serial uint64 // its hash (writeOpHash)
	g      *convGeom
	pre    *bnOp // as convOp.pre
	out    tensor.Tensor
	bufs   convBuffers // x's phase planes and wide dy rows (weights unused)
	parts  *workspace  // per chunk: partial dW (shared by the graph's convolutions)
}

func (op *convGradWOp) Arity() int { return 2 }
func (op *convGradWOp) Type() hm.Type {
	return hm.NewFnType(fourD(), fourD(), fourD())
}
func (op *convGradWOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.g.wShape.Clone(), nil
}
func (op *convGradWOp) ReturnsPtr() bool      { return false }
func (op *convGradWOp) CallsExtern() bool     { return false }
func (op *convGradWOp) OverwritesInput() int  { return -1 }
func (op *convGradWOp) WriteHash(h hash.Hash) { writeOpHash(h, "convgradw", &op.serial) }
func (op *convGradWOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradWOp) String() string        { return "ConvGradW" + op.g.String() }

func (op *convGradWOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, dy, err := denseInputs(op.String(), vals, op.g.xShape, op.g.yShape)
	if err != nil {
		return nil, err
	}
	dw := owned(&op.out, op.g.dt, op.g.wShape)
	switch xd := x.Data().(type) {
	case []float32:
		convBackW(op.g, &op.bufs, op.parts, xd, dy.Data().([]float32), dw.Data().([]float32), op.pre)
	case []float64:
		convBackW(op.g, &op.bufs, op.parts, xd, dy.Data().([]float64), dw.Data().([]float64), op.pre)
	default:
		return nil, fmt.Errorf("nn: %s: dtype %v", op, x.Dtype())
	}
	return dw, nil
}

// denseInputs checks two inputs' types, shapes and dtypes.
func denseInputs(what string, vals []gorgonia.Value, s0, s1 tensor.Shape) (a, b *tensor.Dense, err error) {
	if len(vals) != 2 {
		return nil, nil, fmt.Errorf("nn: %s: %d inputs, want 2", what, len(vals))
	}
	a, ok0 := vals[0].(*tensor.Dense)
	b, ok1 := vals[1].(*tensor.Dense)
	if !ok0 || !ok1 {
		return nil, nil, fmt.Errorf("nn: %s: inputs %T, %T, want *tensor.Dense", what, vals[0], vals[1])
	}
	if !a.Shape().Eq(s0) || !b.Shape().Eq(s1) {
		return nil, nil, fmt.Errorf("nn: %s: input shapes %v, %v, want %v, %v", what, a.Shape(), b.Shape(), s0, s1)
	}
	if a.Dtype() != b.Dtype() {
		return nil, nil, fmt.Errorf("nn: %s: inputs of dtypes %v and %v", what, a.Dtype(), b.Dtype())
	}
	return a, b, nil
}
