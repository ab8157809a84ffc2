package nn

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The layer and loss graphs against PyTorch 1.13 (testdata/parity.json).

func TestConv2dParity(t *testing.T) {
	p := loadParity(t).Conv2d
	net, b := newTestNet(tensor.Float32, 1)
	x := variable(b, "x", p.XShape, p.X)
	y, err := b.conv2d("conv", x, p.WShape[0], p.WShape[2], p.Stride, p.Padding)
	if err != nil {
		t.Fatal(err)
	}
	w := net.params[1].node
	setValues(t, w, p.W)
	loss := weightedSum(t, y, p.GradY)
	m := mustCompile(t, net, loss, y)
	mustRun(t, m)
	checkClose(t, "conv2d y", values(t, y), p.Y, 1e-4, 1e-4)
	checkClose(t, "conv2d grad_x", grad(t, x), p.GradX, 1e-4, 1e-4)
	checkClose(t, "conv2d grad_w", grad(t, w), p.GradW, 1e-4, 1e-4)
}

func TestBatchNormTrainParity(t *testing.T) {
	p := loadParity(t).BatchNorm
	if p.Eps != bnEpsilon {
		t.Fatalf("parity eps = %g, bnEpsilon = %g", p.Eps, bnEpsilon)
	}
	net, b := newTestNet(tensor.Float32, 1)
	x := variable(b, "x", p.XShape, p.X)
	y, err := b.batchNorm("bn", x)
	if err != nil {
		t.Fatal(err)
	}
	gamma, beta := net.params[1].node, net.params[2].node
	setValues(t, gamma, p.Gamma)
	setValues(t, beta, p.Beta)
	loss := weightedSum(t, y, p.GradY)
	m := mustCompile(t, net, loss, y)
	mustRun(t, m)
	checkClose(t, "batch_norm y", values(t, y), p.Y, 1e-4, 1e-4)
	checkClose(t, "batch_norm grad_x", grad(t, x), p.GradX, 1e-4, 1e-4)
	checkClose(t, "batch_norm grad_gamma", grad(t, gamma), p.GradGamma, 1e-4, 1e-4)
	checkClose(t, "batch_norm grad_beta", grad(t, beta), p.GradBeta, 1e-4, 1e-4)
}

func TestNTXentParity(t *testing.T) {
	for _, c := range loadParity(t).NTXent {
		t.Run(fmt.Sprintf("n=%d,d=%d,tau=%g", c.N, c.D, c.Temperature), func(t *testing.T) {
			net, b := newTestNet(tensor.Float32, 1)
			z := variable(b, "z", []int{2 * c.N, c.D}, append(append([]float64(nil), c.Z1...), c.Z2...))
			loss, _, err := NTXent(z, c.N, c.Temperature)
			if err != nil {
				t.Fatal(err)
			}
			m := mustCompile(t, net, loss)
			mustRun(t, m)
			checkClose(t, "loss", []float64{scalarValue(t, loss)}, []float64{c.Loss}, 0, 1e-4)
			g := grad(t, z)
			half := c.N * c.D
			checkClose(t, "grad_z1", g[:half], c.GradZ1, 1e-6, 1e-4)
			checkClose(t, "grad_z2", g[half:], c.GradZ2, 1e-6, 1e-4)
		})
	}
}

// Finite differences on float64 graphs.

func TestNTXentFiniteDifferences(t *testing.T) {
	for _, c := range []struct {
		n, d int
		tau  float64
	}{{2, 3, 0.5}, {3, 4, 0.1}} {
		t.Run(fmt.Sprintf("n=%d,d=%d,tau=%g", c.n, c.d, c.tau), func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(c.n)))
			net, b := newTestNet(tensor.Float64, 1)
			z := variable(b, "z", []int{2 * c.n, c.d}, randn(r, 2*c.n*c.d, 1))
			loss, _, err := NTXent(z, c.n, c.tau)
			if err != nil {
				t.Fatal(err)
			}
			m := mustCompile(t, net, loss)
			finiteDiff(t, m, loss, []*gorgonia.Node{z}, 1e-6, 1e-6)
		})
	}
}

func TestSoftmaxCrossEntropyFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	net, b := newTestNet(tensor.Float64, 1)
	logits := variable(b, "logits", []int{4, 5}, randn(r, 20, 3))
	onehot := net.NewInput("onehot", 4, 5)
	oh := make([]float64, 20)
	for i, k := range []int{0, 3, 3, 4} {
		oh[i*5+k] = 1
	}
	setValues(t, onehot, oh)
	loss, err := SoftmaxCrossEntropy(logits, onehot)
	if err != nil {
		t.Fatal(err)
	}
	m := mustCompile(t, net, loss)
	finiteDiff(t, m, loss, []*gorgonia.Node{logits}, 1e-6, 1e-6)

	// The value against a direct float64 computation.
	mustRun(t, m)
	x := values(t, logits)
	want := 0.0
	for i, k := range []int{0, 3, 3, 4} {
		s := 0.0
		for j := 0; j < 5; j++ {
			s += math.Exp(x[i*5+j])
		}
		want += (math.Log(s) - x[i*5+k]) / 4
	}
	if got := scalarValue(t, loss); math.Abs(got-want) > 1e-12 {
		t.Errorf("SoftmaxCrossEntropy = %.15g, want %.15g", got, want)
	}
}

// A conv (stride 2) + BN + ReLU + pool + linear block, every parameter and
// the input checked.
func TestConvBlockFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	net, b := newTestNet(tensor.Float64, 4)
	x := variable(b, "x", []int{3, 2, 5, 5}, randn(r, 150, 1))
	y, err := b.conv2d("conv", x, 3, 3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if y, err = b.batchNorm("bn", y); err != nil {
		t.Fatal(err)
	}
	// γ, β away from 1, 0 so that their gradients are not special.
	setValues(t, net.params[2].node, []float64{0.7, 1.3, -0.4})
	setValues(t, net.params[3].node, []float64{0.1, -0.2, 0.3})
	if y, err = b.relu(y); err != nil {
		t.Fatal(err)
	}
	if y, err = b.globalAvgPool(y); err != nil {
		t.Fatal(err)
	}
	if y, err = b.linear("fc", y, 2); err != nil {
		t.Fatal(err)
	}
	loss := weightedSum(t, y, randn(r, 6, 1))
	m := mustCompile(t, net, loss)
	finiteDiff(t, m, loss, net.Learnables(), 1e-6, 1e-6)
}
