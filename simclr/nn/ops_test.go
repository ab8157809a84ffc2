package nn

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The custom ops (conv_op.go, bn.go, relu.go) beyond the PyTorch parity
// cases: every convolution geometry the encoders use (and the 1×1
// stride-1 shortcut path) against its definition (conv2dRef) and by
// finite differences, the fused BN+ReLU against PyTorch's BN output, and
// the fused ops by finite differences.

func TestConvGeometries(t *testing.T) {
	for _, c := range convCases {
		t.Run(c.String(), func(t *testing.T) {
			r := rand.New(rand.NewSource(5))
			net, b := newTestNet(tensor.Float64, 2)
			xv := randn(r, c.b*c.in*c.h*c.w, 1)
			x := variable(b, "x", []int{c.b, c.in, c.h, c.w}, xv)
			y, err := b.conv2d("conv", x, c.out, c.k, c.stride, c.pad)
			if err != nil {
				t.Fatal(err)
			}
			loss := weightedSum(t, y, randn(r, y.Shape().TotalSize(), 1))
			m := mustCompile(t, net, loss, y)
			mustRun(t, m)
			want := conv2dRef(xv, c.b, c.in, c.h, c.w, values(t, net.params[1].node), c.out, c.k, c.stride, c.pad)
			checkClose(t, "conv2d y", values(t, y), want, 1e-12, 1e-12)
			finiteDiff(t, m, loss, net.Learnables(), 1e-6, 1e-7)
		})
	}
}

// convCase is one convolution geometry: x [b, in, h, w] * w [out, in, k, k].
type convCase struct{ b, in, h, w, out, k, stride, pad int }

func (c convCase) String() string {
	return fmt.Sprintf("x[%d,%d,%d,%d]*w[%d,%d,%d,%d]/s%dp%d", c.b, c.in, c.h, c.w, c.out, c.in, c.k, c.k, c.stride, c.pad)
}

// convCases are the convolution geometries the tests cover.
var convCases = []convCase{
	{2, 3, 5, 4, 2, 1, 1, 0}, // 1×1 stride 1: no phase planes
	{2, 2, 5, 6, 3, 3, 1, 1},
	{3, 2, 5, 5, 2, 3, 2, 1},
	{2, 3, 6, 5, 2, 1, 2, 0}, // the downsampling shortcut
	{2, 2, 4, 5, 2, 2, 1, 0},
	{1, 1, 3, 3, 2, 3, 1, 2}, // padding wider than needed
	{2, 2, 7, 8, 2, 3, 3, 1}, // stride 3, ragged edges
	{2, 1, 6, 7, 2, 2, 2, 1},
	{1, 2, 2, 3, 2, 3, 2, 2}, // rows and columns entirely in the padding
	{2, 3, 7, 7, 4, 3, 1, 1}, // Winograd tiles with odd rows and columns
	{1, 2, 8, 9, 3, 3, 1, 0},
}

// TestDeferredBNConv: a BN, with and without ReLU, feeding a convolution
// of every geometry, deferred where the convolution can apply it (every
// geometry but 1×1 stride 1), gives the same output and gradients as the
// stored BN output (float64, 1e-12), and finite differences hold through
// it.
func TestDeferredBNConv(t *testing.T) {
	for _, c := range convCases {
		for _, relu := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/relu=%v", c, relu), func(t *testing.T) {
				run := func(deferBN bool) (*Net, *Machine, *gorgonia.Node, []float64) {
					r := rand.New(rand.NewSource(9))
					net, b := newTestNet(tensor.Float64, 2)
					net.noDefer = !deferBN
					x := variable(b, "x", []int{c.b, c.in, c.h, c.w}, randn(r, c.b*c.in*c.h*c.w, 1))
					a, err := b.batchNormAct("bn", x, relu)
					if err != nil {
						t.Fatal(err)
					}
					setValues(t, net.params[1].node, randn(r, c.in, 1)) // γ of both signs
					setValues(t, net.params[2].node, randn(r, c.in, 0.5))
					y, err := b.conv2d("conv", a, c.out, c.k, c.stride, c.pad)
					if err != nil {
						t.Fatal(err)
					}
					loss := weightedSum(t, y, randn(r, y.Shape().TotalSize(), 1))
					m := mustCompile(t, net, loss, y)
					mustRun(t, m)
					var grads []float64
					for _, p := range net.Learnables() {
						g, err := p.Grad()
						if err != nil {
							t.Fatal(err)
						}
						grads = append(grads, g.Data().([]float64)...)
					}
					return net, m, loss, append(values(t, y), grads...)
				}
				_, _, _, want := run(false)
				net, m, loss, got := run(true)
				if d := net.bns[0].op.deferred; d != (c.k != 1 || c.stride != 1) {
					t.Fatalf("deferred = %v", d)
				}
				checkClose(t, "y and gradients", got, want, 1e-12, 1e-12)
				finiteDiff(t, m, loss, net.Learnables(), 1e-6, 1e-7)
			})
		}
	}
}

// TestBatchNormReLUParity: the fused op's output is max(PyTorch's BN
// output, 0) on the parity case.
func TestBatchNormReLUParity(t *testing.T) {
	p := loadParity(t).BatchNorm
	net, b := newTestNet(tensor.Float32, 1)
	x := variable(b, "x", p.XShape, p.X)
	y, err := b.batchNormReLU("bn", x)
	if err != nil {
		t.Fatal(err)
	}
	setValues(t, net.params[1].node, p.Gamma)
	setValues(t, net.params[2].node, p.Beta)
	loss := weightedSum(t, y, p.GradY)
	m := mustCompile(t, net, loss, y)
	mustRun(t, m)
	want := make([]float64, len(p.Y))
	for i, v := range p.Y {
		want[i] = math.Max(v, 0)
	}
	checkClose(t, "batchNormReLU y", values(t, y), want, 1e-4, 1e-4)
}

// TestFusedOpsFiniteDifferences: BN+ReLU, BN, the fused residual add+ReLU
// and a plain ReLU chained, every input and parameter checked.
func TestFusedOpsFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	net, b := newTestNet(tensor.Float64, 3)
	x := variable(b, "x", []int{3, 2, 3, 4}, randn(r, 72, 1))
	a, err := b.batchNormReLU("bn1", x)
	if err != nil {
		t.Fatal(err)
	}
	setValues(t, net.params[1].node, []float64{0.8, -1.2})
	setValues(t, net.params[2].node, []float64{0.2, 0.1})
	c, err := b.batchNorm("bn2", a)
	if err != nil {
		t.Fatal(err)
	}
	setValues(t, net.params[3].node, []float64{1.1, 0.6})
	setValues(t, net.params[4].node, []float64{-0.1, 0.3})
	s, err := b.addReLU(c, x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.relu(s)
	if err != nil {
		t.Fatal(err)
	}
	loss := weightedSum(t, y, randn(r, 72, 1))
	m := mustCompile(t, net, loss)
	finiteDiff(t, m, loss, net.Learnables(), 1e-6, 1e-6)
}

// TestRunsRepeat: the custom ops overwrite their buffers on every run; a
// second run on the same input gives the same loss, features and gradients
// (stale or accumulated values in a reused buffer would change them).
func TestRunsRepeat(t *testing.T) {
	const n = 2
	net, err := Build(smallArch(), 2*n, 1, 6, 6, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, _, err := NTXent(net.Z, n, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := mustCompile(t, net, loss)
	in := map[*gorgonia.Node][]float32{net.X: randf32(rand.New(rand.NewSource(1)), 2*n*36)}
	if err := m.Run(in); err != nil {
		t.Fatal(err)
	}
	first := scalarValue(t, loss)
	h1 := values(t, net.H)
	g1 := grad(t, net.Learnables()[0])
	if err := m.Run(in); err != nil {
		t.Fatal(err)
	}
	// BN running statistics move, but batch statistics do not: the same
	// input gives the same loss, features and gradients.
	if got := scalarValue(t, loss); got != first {
		t.Errorf("second Run loss = %v, want %v", got, first)
	}
	checkClose(t, "second Run H", values(t, net.H), h1, 0, 0)
	checkClose(t, "second Run grad", grad(t, net.Learnables()[0]), g1, 0, 0)
}

// TestMaskRow32: the branch-free float32 ReLU masks equal the definition,
// for ReLU outputs from +0 and the smallest subnormal up.
func TestMaskRow32(t *testing.T) {
	y := []float32{0, math.SmallestNonzeroFloat32, 1e-30, 0.5, 1, math.MaxFloat32, 0, 3}
	dy := []float32{1, -2, 3, -4, 5, -6, float32(math.Inf(1)), -0.25}
	got := make([]float32, len(y))
	maskRow32(got, dy, y)
	for i := range y {
		want := float32(0)
		if y[i] > 0 {
			want = dy[i]
		}
		if got[i] != want {
			t.Errorf("maskRow32(dy=%v, y=%v)[%d] = %v, want %v", dy[i], y[i], i, got[i], want)
		}
		if g := relumask32(dy[i], y[i]); g != want {
			t.Errorf("relumask32(%v, %v) = %v, want %v", dy[i], y[i], g, want)
		}
	}
}

// TestBatchNormStatsFromConv: a batch norm taking its batch statistics
// from the convolution before it (Build's fusion) gives the output,
// gradients and running statistics of one computing them itself, on data
// with a mean far from 0 (where Σx² − (Σx)²/n could cancel).
func TestBatchNormStatsFromConv(t *testing.T) {
	type result struct{ y, gx, gw, gg, mean, vr []float64 }
	run := func(fuse bool) result {
		r := rand.New(rand.NewSource(4))
		net, b := newTestNet(tensor.Float32, 6)
		b.fuseStats = fuse
		xv := randn(r, 4*3*6*6, 1)
		for i := range xv {
			xv[i] += 20
		}
		x := variable(b, "x", []int{4, 3, 6, 6}, xv)
		c, err := b.conv2d("conv", x, 5, 3, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		y, err := b.batchNormReLU("bn", c)
		if err != nil {
			t.Fatal(err)
		}
		if fused := net.bns[0].op.src != nil; fused != fuse {
			t.Fatalf("fuseStats %v: batch norm linked to the convolution = %v", fuse, fused)
		}
		loss := weightedSum(t, y, randn(r, y.Shape().TotalSize(), 1))
		m := mustCompile(t, net, loss, y)
		mustRun(t, m)
		mean, vr := getRunning(net.bns[0].op)
		return result{values(t, y), grad(t, x), grad(t, net.params[1].node), grad(t, net.params[2].node), mean, vr}
	}
	own, fused := run(false), run(true)
	checkClose(t, "y", fused.y, own.y, 1e-5, 1e-4)
	checkClose(t, "grad x", fused.gx, own.gx, 1e-5, 1e-3)
	checkClose(t, "grad w", fused.gw, own.gw, 1e-5, 1e-3)
	checkClose(t, "grad gamma", fused.gg, own.gg, 1e-5, 1e-3)
	checkClose(t, "running mean", fused.mean, own.mean, 1e-6, 1e-5)
	checkClose(t, "running var", fused.vr, own.vr, 1e-6, 1e-5)
}

// TestNoGradientForInput: the stem convolution computes no ∂x for the
// network input (a whole convolution per step for nothing), while every
// other convolution does.
func TestNoGradientForInput(t *testing.T) {
	net, err := Build(smallArch(), 4, 1, 6, 6, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, _, err := NTXent(net.Z, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	mustCompile(t, net, loss)
	convs, gradX := 0, 0
	for _, n := range net.G.AllNodes() {
		switch op := n.Op().(type) {
		case *convOp:
			convs++
		case *convGradXOp:
			gradX++
			if op.g.xShape.Eq(net.X.Shape()) && op.g.in == net.X.Shape()[1] {
				t.Errorf("%v computes the gradient of the network input", op)
			}
		}
	}
	if gradX != convs-1 {
		t.Errorf("%d convolutions have %d ∂x ops, want %d", convs, gradX, convs-1)
	}
}

// TestMaskedBNKernels32: the branch-free float32 kernels of the fused
// BN+ReLU gradient equal the generic ones on float64 copies of the data.
func TestMaskedBNKernels32(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	const n = 37 // odd: the unrolled loops' tails
	dy, y, x := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range dy {
		dy[i], x[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		if i%3 != 0 {
			y[i] = r.Float32()
		}
	}
	d64, y64, x64 := toFloat64s(dy), toFloat64s(y), toFloat64s(x)
	s, sx := dotDevMaskRow(dy, y, x, 0.3)
	ws, wsx := dotDevMaskRow(d64, y64, x64, 0.3)
	checkClose(t, "dotDevMaskRow(float32)", []float64{s, sx}, []float64{ws, wsx}, 1e-12, 1e-12)
	got, want := make([]float32, n), make([]float64, n)
	bnDxMaskRow(got, dy, y, x, 0.7, -0.2, 0.05)
	bnDxMaskRow(want, d64, y64, x64, float64(float32(0.7)), float64(float32(-0.2)), float64(float32(0.05)))
	checkClose(t, "bnDxMaskRow(float32)", toFloat64s(got), want, 1e-6, 1e-6)
}
