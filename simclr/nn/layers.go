package nn

import (
	"fmt"
	"math"
	"math/rand"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file is the one place where each layer kind becomes gorgonia nodes:
// conv2d, batchNorm and relu are the custom ops of conv_op.go, bn.go and
// relu.go, which write into buffers kept across runs.

// builder creates the parameters and layers of one Net.
type builder struct {
	net      *Net
	g        *gorgonia.ExprGraph
	dt       tensor.Dtype
	rng      *rand.Rand
	momentum float64
	// fuseStats lets a batch norm take its batch statistics from the
	// convolution before it (Build sets it; layer tests leave it off, so
	// that they check both ways).
	fuseStats bool
}

// param creates a learnable [shape] node named name with the given values,
// and records it in the net.
func (b *builder) param(name string, shape []int, vals []float64) *gorgonia.Node {
	t := tensor.New(tensor.Of(b.dt), tensor.WithShape(shape...))
	switch d := t.Data().(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	}
	n := gorgonia.NewTensor(b.g, b.dt, len(shape), gorgonia.WithShape(shape...),
		gorgonia.WithName(name), gorgonia.WithValue(t))
	b.net.params = append(b.net.params, param{name: name, node: n})
	return n
}

// isParam reports whether x is one of the net's parameters.
func (b *builder) isParam(x *gorgonia.Node) bool {
	for _, p := range b.net.params {
		if p.node == x {
			return true
		}
	}
	return false
}

// kaimingNormal returns n draws of N(0, 2/fanOut): torchvision ResNet's
// kaiming_normal_(mode="fan_out", nonlinearity="relu") for conv weights.
func (b *builder) kaimingNormal(n, fanOut int) []float64 {
	std := math.Sqrt(2 / float64(fanOut))
	v := make([]float64, n)
	for i := range v {
		v[i] = b.rng.NormFloat64() * std
	}
	return v
}

// uniform returns n draws of U(−bound, bound).
func (b *builder) uniform(n int, bound float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (2*b.rng.Float64() - 1) * bound
	}
	return v
}

func filled(n int, x float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = x
	}
	return v
}

// conv2d is a k×k convolution without bias, weight name+".w" of shape
// [out, in, k, k] (PyTorch's layout), Kaiming-normal initialised:
//
//	x [B, in, H, W] -> [B, out, ⌊(H+2·pad−k)/stride⌋+1, ⌊(W+2·pad−k)/stride⌋+1]
func (b *builder) conv2d(name string, x *gorgonia.Node, out, k, stride, pad int) (*gorgonia.Node, error) {
	in := x.Shape()[1]
	w := b.param(name+".w", []int{out, in, k, k}, b.kaimingNormal(out*in*k*k, out*k*k))
	// A leaf that is not a parameter (the network input) needs no gradient.
	noGradX := x.Op() == nil && !b.isParam(x)
	y, err := conv2dNode(x, w, stride, pad, noGradX, &b.net.convParts)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: conv2d of %v: %w", name, x.Shape(), err)
	}
	return y, nil
}

// batchNorm is BatchNorm2d over the channels of x [B, C, H, W] (bnOp): in
// training mode y = γ·(x − μ_B)/√(σ²_B + ε) + β with the biased batch
// variance, and the running statistics move by the momentum (the running
// variance with the unbiased batch variance, as PyTorch); in inference mode
// μ and σ² are the running statistics. γ (name+".gamma", ones) and β
// (name+".beta", zeros) have shape (1, C, 1, 1); the running statistics
// start at PyTorch's 0 and 1.
func (b *builder) batchNorm(name string, x *gorgonia.Node) (*gorgonia.Node, error) {
	return b.batchNormAct(name, x, false)
}

// batchNormReLU is ReLU(batchNorm(x)), fused into one op.
func (b *builder) batchNormReLU(name string, x *gorgonia.Node) (*gorgonia.Node, error) {
	return b.batchNormAct(name, x, true)
}

func (b *builder) batchNormAct(name string, x *gorgonia.Node, relu bool) (*gorgonia.Node, error) {
	c := x.Shape()[1]
	gamma := b.param(name+".gamma", []int{1, c, 1, 1}, filled(c, 1))
	beta := b.param(name+".beta", []int{1, c, 1, 1}, filled(c, 0))
	op, err := newBNOp(x.Shape(), x.Dtype(), b.momentum, bnEpsilon)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", name, err)
	}
	op.relu, op.x = relu, x
	if conv, ok := x.Op().(*convOp); ok && b.fuseStats {
		// x is a convolution's output: let the convolution sum its
		// channels while they are in cache.
		conv.sums = true
		op.src = conv
	}
	y, err := gorgonia.ApplyOp(op, x, gamma, beta)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: batch norm of %v: %w", name, x.Shape(), err)
	}
	b.net.bns = append(b.net.bns, bnLayer{name: name, op: op, node: y, channels: c})
	return y, nil
}

// relu is max(x, 0) elementwise (reluOp).
func (b *builder) relu(x *gorgonia.Node) (*gorgonia.Node, error) {
	y, err := reluNode(x)
	if err != nil {
		return nil, fmt.Errorf("nn: relu of %v: %w", x.Shape(), err)
	}
	return y, nil
}

// addReLU is max(x + y, 0) elementwise for two nodes of one shape (the
// residual and the block's ReLU, fused into one reluOp).
func (b *builder) addReLU(x, y *gorgonia.Node) (*gorgonia.Node, error) {
	z, err := reluNode(x, y)
	if err != nil {
		return nil, fmt.Errorf("nn: add %v + %v: %w", x.Shape(), y.Shape(), err)
	}
	return z, nil
}

// globalAvgPool averages each channel over space: x [B, C, H, W] -> [B, C].
// It reduces the last axis of Reshape(x, (B, C, H·W)): gorgonia's
// reductions over middle axes of 4-D tensors give wrong values, and
// GlobalAveragePool2D has no gradient.
func (b *builder) globalAvgPool(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("nn: global average pool needs [B, C, H, W], got %v", s)
	}
	r, err := gorgonia.Reshape(x, tensor.Shape{s[0], s[1], s[2] * s[3]})
	if err != nil {
		return nil, fmt.Errorf("nn: global average pool: %w", err)
	}
	y, err := gorgonia.Mean(r, 2)
	if err != nil {
		return nil, fmt.Errorf("nn: global average pool: %w", err)
	}
	return y, nil
}

// linear is y = x·W + b with W name+".w" of shape [in, out] (the transpose
// of PyTorch's layout) and b name+".b" of shape [1, out], both initialised
// as PyTorch's nn.Linear: U(±1/√in).
//
//	x [B, in] -> [B, out]
func (b *builder) linear(name string, x *gorgonia.Node, out int) (*gorgonia.Node, error) {
	in := x.Shape()[1]
	bound := 1 / math.Sqrt(float64(in))
	w := b.param(name+".w", []int{in, out}, b.uniform(in*out, bound))
	bias := b.param(name+".b", []int{1, out}, b.uniform(out, bound))
	xw, err := gorgonia.Mul(x, w)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %v·%v: %w", name, x.Shape(), w.Shape(), err)
	}
	y, err := gorgonia.BroadcastAdd(xw, bias, nil, []byte{0})
	if err != nil {
		return nil, fmt.Errorf("nn: %s: bias: %w", name, err)
	}
	return y, nil
}

// basicBlock is ReLU(BN(conv3x3(ReLU(BN(conv3x3_s(x))))) + shortcut(x)),
// shortcut = BN(conv1x1_s(x)) when stride ≠ 1 or the width changes.
func (b *builder) basicBlock(name string, x *gorgonia.Node, out, stride int) (*gorgonia.Node, error) {
	y, err := b.conv2d(name+".conv1", x, out, 3, stride, 1)
	if err != nil {
		return nil, err
	}
	if y, err = b.batchNormReLU(name+".bn1", y); err != nil {
		return nil, err
	}
	if y, err = b.conv2d(name+".conv2", y, out, 3, 1, 1); err != nil {
		return nil, err
	}
	if y, err = b.batchNorm(name+".bn2", y); err != nil {
		return nil, err
	}
	short := x
	if stride != 1 || x.Shape()[1] != out {
		if short, err = b.conv2d(name+".short.conv", x, out, 1, stride, 0); err != nil {
			return nil, err
		}
		if short, err = b.batchNorm(name+".short.bn", short); err != nil {
			return nil, err
		}
	}
	return b.addReLU(y, short)
}

// setRunning copies running mean and variance into a BatchNorm op.
func setRunning(op *bnOp, mean, variance []float64) error {
	m, _ := op.Stats()
	dt := m.Dtype()
	mt := tensor.New(tensor.Of(dt), tensor.WithShape(len(mean)))
	vt := tensor.New(tensor.Of(dt), tensor.WithShape(len(variance)))
	switch dt {
	case tensor.Float32:
		md, vd := mt.Data().([]float32), vt.Data().([]float32)
		for i := range mean {
			md[i], vd[i] = float32(mean[i]), float32(variance[i])
		}
	case tensor.Float64:
		copy(mt.Data().([]float64), mean)
		copy(vt.Data().([]float64), variance)
	default:
		return fmt.Errorf("batch norm running statistics of dtype %v", dt)
	}
	return op.SetStats(mt, vt)
}

// getRunning returns copies of a BatchNorm op's running mean and variance.
func getRunning(op *bnOp) (mean, variance []float64) {
	m, v := op.Stats()
	return toFloat64s(m.Data()), toFloat64s(v.Data())
}

func toFloat64s(d any) []float64 {
	switch d := d.(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	}
	return nil
}
