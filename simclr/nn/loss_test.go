package nn

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestNTXentCollapsed: identical rows give exactly log(2N−1), for nonzero
// and all-zero rows (normEps keeps the norm finite).
func TestNTXentCollapsed(t *testing.T) {
	for _, c := range []struct {
		n    int
		row  float64
		tau  float64
		name string
	}{{4, 0.3, 0.5, "n=4 ones"}, {8, 2.0, 0.1, "n=8 twos"}, {3, 0, 0.5, "n=3 zeros"}} {
		net, b := newTestNet(tensor.Float32, 1)
		z := variable(b, "z", []int{2 * c.n, 5}, filled(2*c.n*5, c.row))
		loss, _, err := NTXent(z, c.n, c.tau)
		if err != nil {
			t.Fatal(err)
		}
		m, err := net.Compile(loss)
		if err != nil {
			t.Fatal(err)
		}
		mustRun(t, m)
		want := math.Log(float64(2*c.n - 1))
		if got := scalarValue(t, loss); math.Abs(got-want) > 1e-5 {
			t.Errorf("NTXent(collapsed %s) = %.7g, want log(2N−1) = %.7g", c.name, got, want)
		}
		for i, g := range grad(t, z) {
			if math.IsNaN(g) || math.IsInf(g, 0) {
				t.Fatalf("NTXent(collapsed %s) gradient[%d] = %v", c.name, i, g)
			}
		}
		m.Close()
	}
}

// TestLossesFiniteWithHugeLogits: gorgonia's SoftMax takes every row's
// max from the first element, so a small first row and huge later rows
// overflow. Our losses must stay finite and exact.
func TestLossesFiniteWithHugeLogits(t *testing.T) {
	logits := []float64{
		0.1, -0.2, 0.3, 0,
		1e4, -1e4, 9990, 0,
		3e4, 3e4 + 2, -5e4, 3e4 - 1,
	}
	labels := []int{2, 1, 3}
	net, b := newTestNet(tensor.Float32, 1)
	x := variable(b, "logits", []int{3, 4}, logits)
	// A plain gorgonia input without a value, as callers may make it.
	onehot := gorgonia.NewMatrix(net.G, tensor.Float32, gorgonia.WithShape(3, 4), gorgonia.WithName("onehot"))
	oh := make([]float32, 12)
	for i, k := range labels {
		oh[i*4+k] = 1
	}
	loss, err := SoftmaxCrossEntropy(x, onehot)
	if err != nil {
		t.Fatal(err)
	}
	m := mustCompile(t, net, loss)
	for run := 0; run < 2; run++ { // the first Run binds a tensor, the second copies into it
		if err := m.Run(map[*gorgonia.Node][]float32{onehot: oh}); err != nil {
			t.Fatal(err)
		}
	}
	want := 0.0
	for i, k := range labels {
		row := logits[i*4 : i*4+4]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		want += (mx + math.Log(s) - row[k]) / 3
	}
	got := scalarValue(t, loss)
	if math.Abs(got-want) > 1e-4*want {
		t.Errorf("SoftmaxCrossEntropy(huge logits) = %v, want %v", got, want)
	}
	for i, g := range grad(t, x) {
		if math.IsNaN(g) || math.IsInf(g, 0) || math.Abs(g) > 1 {
			t.Errorf("SoftmaxCrossEntropy(huge logits) gradient[%d] = %v", i, g)
		}
	}

	// NT-Xent with a tiny temperature: logits down to −2/τ = −4000, and
	// later rows nearly parallel.
	r := rand.New(rand.NewSource(4))
	zs := randn(r, 6*3, 1)
	for i := 9; i < 18; i++ {
		zs[i] = zs[i%3] * 1e3
	}
	net2, b2 := newTestNet(tensor.Float32, 1)
	z := variable(b2, "z", []int{6, 3}, zs)
	nl, _, err := NTXent(z, 3, 5e-4)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := net2.Compile(nl)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	mustRun(t, m2)
	if v := scalarValue(t, nl); math.IsNaN(v) || math.IsInf(v, 0) {
		t.Errorf("NTXent(τ = 5e-4) = %v, want finite", v)
	}
	for i, g := range grad(t, z) {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			t.Fatalf("NTXent(τ = 5e-4) gradient[%d] = %v", i, g)
		}
	}
}

func TestLossesReject(t *testing.T) {
	net, b := newTestNet(tensor.Float32, 1)
	z := variable(b, "z", []int{6, 3}, filled(18, 1))
	z64 := gorgonia.NewMatrix(net.G, tensor.Float64, gorgonia.WithShape(6, 3), gorgonia.WithName("z64"))
	bad := []struct {
		name string
		z    *gorgonia.Node
		n    int
		tau  float64
	}{
		{"nil", nil, 3, 0.5}, {"odd rows", z, 2, 0.5}, {"zero tau", z, 3, 0}, {"negative tau", z, 3, -1}, {"inf tau", z, 3, math.Inf(1)},
	}
	for _, c := range bad {
		if _, _, err := NTXent(c.z, c.n, c.tau); err == nil {
			t.Errorf("NTXent(%s) = nil error, want an error", c.name)
		}
	}
	if _, err := SoftmaxCrossEntropy(z, z64); err == nil {
		t.Errorf("SoftmaxCrossEntropy(float32, float64) = nil error, want an error")
	}
	other := variable(b, "o", []int{6, 4}, filled(24, 1))
	if _, err := SoftmaxCrossEntropy(z, other); err == nil {
		t.Errorf("SoftmaxCrossEntropy([6 3], [6 4]) = nil error, want an error")
	}
	if _, err := SoftmaxCrossEntropy(nil, z); err == nil {
		t.Errorf("SoftmaxCrossEntropy(nil, z) = nil error, want an error")
	}
}

func TestContrastiveStats(t *testing.T) {
	cases := []struct {
		name     string
		sim      []float32
		n        int
		acc, cos float64
	}{
		{"perfect", []float32{
			1, 0.1, 0.9, 0.2,
			0.1, 1, 0.3, 0.8,
			0.9, 0.3, 1, 0,
			0.2, 0.8, 0, 1,
		}, 2, 1, 0.85},
		{"half", []float32{
			1, 0.95, 0.9, 0.2,
			0.95, 1, 0.3, 0.8,
			0.9, 0.3, 1, 0,
			0.2, 0.8, 0, 1,
		}, 2, 0.5, 0.85},
		{"collapsed ties count as misses", []float32{
			1, 1, 1, 1,
			1, 1, 1, 1,
			1, 1, 1, 1,
			1, 1, 1, 1,
		}, 2, 0, 1},
		{"n=1 has no negatives", []float32{1, -0.5, -0.5, 1}, 1, 1, -0.5},
	}
	for _, c := range cases {
		acc, cos := ContrastiveStats(c.sim, c.n)
		if acc != c.acc || math.Abs(cos-c.cos) > 1e-6 {
			t.Errorf("ContrastiveStats(%s) = %v, %v; want %v, %v", c.name, acc, cos, c.acc, c.cos)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("ContrastiveStats(3 values, 1) did not panic")
		}
	}()
	ContrastiveStats([]float32{1, 2, 3}, 1)
}
