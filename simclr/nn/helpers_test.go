package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// parity holds reference vectors from PyTorch 1.13 / torchvision 0.14 in
// testdata/parity.json: cases of the output of testdata/gen_parity.py,
// which says how to rerun it. Arrays are row-major.
type parity struct {
	NTXent []struct {
		N           int       `json:"n"`
		D           int       `json:"d"`
		Temperature float64   `json:"temperature"`
		Z1          []float64 `json:"z1"`
		Z2          []float64 `json:"z2"`
		Loss        float64   `json:"loss"`
		GradZ1      []float64 `json:"grad_z1"`
		GradZ2      []float64 `json:"grad_z2"`
	} `json:"nt_xent"`
	Conv2d struct {
		XShape  []int     `json:"x_shape"`
		WShape  []int     `json:"w_shape"`
		Stride  int       `json:"stride"`
		Padding int       `json:"padding"`
		X       []float64 `json:"x"`
		W       []float64 `json:"w"`
		Y       []float64 `json:"y"`
		GradY   []float64 `json:"grad_y"`
		GradX   []float64 `json:"grad_x"`
		GradW   []float64 `json:"grad_w"`
	} `json:"conv2d"`
	BatchNorm struct {
		XShape    []int     `json:"x_shape"`
		Eps       float64   `json:"eps"`
		X         []float64 `json:"x"`
		Gamma     []float64 `json:"gamma"`
		Beta      []float64 `json:"beta"`
		Y         []float64 `json:"y"`
		GradY     []float64 `json:"grad_y"`
		GradX     []float64 `json:"grad_x"`
		GradGamma []float64 `json:"grad_gamma"`
		GradBeta  []float64 `json:"grad_beta"`
	} `json:"batch_norm_train"`
}

func loadParity(t testing.TB) *parity {
	t.Helper()
	b, err := os.ReadFile("testdata/parity.json")
	if err != nil {
		t.Fatal(err)
	}
	var p parity
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("testdata/parity.json: %v", err)
	}
	return &p
}

// newTestNet returns an empty net of dtype dt and its builder, for graphs
// of single layers.
func newTestNet(dt tensor.Dtype, seed int64) (*Net, *builder) {
	g := gorgonia.NewGraph()
	n := &Net{G: g, Train: true, dt: dt, reads: map[*gorgonia.Node]*gorgonia.Value{}}
	return n, &builder{net: n, g: g, dt: dt, rng: rand.New(rand.NewSource(seed)), momentum: DefaultBNMomentum}
}

// variable adds a differentiable leaf (registered as a parameter, so the
// training machine gives its gradient) with the given values.
func variable(b *builder, name string, shape []int, vals []float64) *gorgonia.Node {
	return b.param(name, shape, vals)
}

// weightedSum is Σ y ⊙ w for a constant w of y's shape: its gradient with
// respect to y is w (PyTorch's y.backward(grad_y)).
func weightedSum(t testing.TB, y *gorgonia.Node, w []float64) *gorgonia.Node {
	t.Helper()
	c := tensor.New(tensor.Of(y.Dtype()), tensor.WithShape(y.Shape()...))
	setData(c, w)
	p, err := gorgonia.HadamardProd(y, gorgonia.NewConstant(c))
	if err != nil {
		t.Fatal(err)
	}
	s, err := gorgonia.Sum(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func setData(t tensor.Tensor, vals []float64) {
	switch d := t.Data().(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	}
}

// values returns a node's value as float64s.
func values(t testing.TB, n *gorgonia.Node) []float64 {
	t.Helper()
	v := n.Value()
	if v == nil {
		t.Fatalf("node %s has no value", n.Name())
	}
	switch d := v.Data().(type) {
	case float32:
		return []float64{float64(d)}
	case float64:
		return []float64{d}
	default:
		return toFloat64s(d)
	}
}

// grad returns a parameter node's gradient as float64s.
func grad(t testing.TB, n *gorgonia.Node) []float64 {
	t.Helper()
	g, err := n.Grad()
	if err != nil {
		t.Fatalf("%s.Grad() = %v", n.Name(), err)
	}
	return toFloat64s(g.Data())
}

// setValues overwrites a node's tensor in place.
func setValues(t testing.TB, n *gorgonia.Node, vals []float64) {
	t.Helper()
	d, ok := n.Value().(tensor.Tensor)
	if !ok {
		t.Fatalf("node %s has no tensor value", n.Name())
	}
	if d.Shape().TotalSize() != len(vals) {
		t.Fatalf("setValues(%s): %d values for shape %v", n.Name(), len(vals), d.Shape())
	}
	setData(d, vals)
}

// checkClose fails when |got−want| > atol + rtol·|want| anywhere.
func checkClose(t testing.TB, what string, got, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		if !(math.Abs(got[i]-want[i]) <= atol+rtol*math.Abs(want[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.8g, want %.8g", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values off (atol %g, rtol %g)", what, bad, len(want), atol, rtol)
	}
}

func randn(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64() * scale
	}
	return v
}

func randf32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()
	}
	return v
}

func mustRun(t testing.TB, m *Machine) {
	t.Helper()
	if err := m.run(); err != nil {
		t.Fatal(err)
	}
}

func scalarValue(t testing.TB, n *gorgonia.Node) float64 {
	t.Helper()
	v := values(t, n)
	if len(v) != 1 {
		t.Fatalf("%s: %d values, want a scalar", n.Name(), len(v))
	}
	return v[0]
}

// finiteDiff checks the gradient of the scalar loss with respect to every
// value of each parameter in ps against central differences of the loss,
// both computed by the training machine m on a float64 graph.
func finiteDiff(t *testing.T, m *Machine, loss *gorgonia.Node, ps []*gorgonia.Node, h, tol float64) {
	t.Helper()
	mustRun(t, m)
	analytic := make([][]float64, len(ps))
	for i, p := range ps {
		analytic[i] = grad(t, p)
	}
	for i, p := range ps {
		d := p.Value().Data().([]float64)
		num := make([]float64, len(d))
		for j := range d {
			orig := d[j]
			d[j] = orig + h
			mustRun(t, m)
			up := scalarValue(t, loss)
			d[j] = orig - h
			mustRun(t, m)
			down := scalarValue(t, loss)
			d[j] = orig
			num[j] = (up - down) / (2 * h)
		}
		checkClose(t, fmt.Sprintf("grad %s", p.Name()), analytic[i], num, tol, tol)
	}
}

// mustCompile compiles a machine for loss (nil: a forward machine), closed
// when the test ends.
func mustCompile(t testing.TB, net *Net, loss *gorgonia.Node, outputs ...*gorgonia.Node) *Machine {
	t.Helper()
	m, err := net.Compile(loss, outputs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
