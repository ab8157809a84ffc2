package nn

import (
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestAddEngine: the gradient sums gorgonia makes (at the residual blocks'
// inputs, and in the head) run through addEngine's parallel Add, not
// StdEng's serial one (whole-graph gradient tests check their values).
func TestAddEngine(t *testing.T) {
	net, err := Build(smallArch(), 8, 1, 12, 12, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, _, err := NTXent(net.Z, 4, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := mustCompile(t, net, loss)
	sums, blocks := 0, 0 // sums of two same-shape tensors; of activations
	for _, n := range net.G.AllNodes() {
		if n.Op() == nil || n.Op().String() != "+ false" {
			continue
		}
		var shapes []tensor.Shape
		for it := net.G.From(n.ID()); it.Next(); {
			shapes = append(shapes, it.Node().(*gorgonia.Node).Shape())
		}
		if len(shapes) == 2 && shapes[0].Eq(shapes[1]) && !n.IsScalar() {
			sums++
			if len(n.Shape()) == 4 {
				blocks++
			}
		}
	}
	if blocks == 0 {
		t.Fatal("no gradient sums of activations in the graph: the test checks nothing")
	}
	before := fastAdds.Load()
	x := randf32(rand.New(rand.NewSource(1)), 8*144)
	if err := m.Run(map[*gorgonia.Node][]float32{net.X: x}); err != nil {
		t.Fatal(err)
	}
	if got := fastAdds.Load() - before; got != int64(sums) {
		t.Errorf("addEngine ran %d of the %d gradient sums", got, sums)
	}
}

// TestAddEngineAdd: addEngine.Add equals StdEng's, bit for bit, with a
// reuse tensor (its own path, sizes across the parallel split), and hands
// everything else to StdEng.
func TestAddEngineAdd(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for _, n := range []int{1, 7, 1 << 14, 1<<14 + 9, 100003} {
		a := tensor.New(tensor.WithShape(n), tensor.WithBacking(randf32(r, n)))
		b := tensor.New(tensor.WithShape(n), tensor.WithBacking(randf32(r, n)))
		got := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n))
		want := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n))
		before := fastAdds.Load()
		if _, err := (addEngine{}).Add(a, b, tensor.WithReuse(got)); err != nil {
			t.Fatal(err)
		}
		if fastAdds.Load() != before+1 {
			t.Errorf("n=%d: a float32 Add with reuse did not take the parallel path", n)
		}
		if _, err := (tensor.StdEng{}).Add(a, b, tensor.WithReuse(want)); err != nil {
			t.Fatal(err)
		}
		g, w := got.Data().([]float32), want.Data().([]float32)
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("n=%d [%d]: %v, StdEng %v", n, i, g[i], w[i])
			}
		}
	}
	// float64 and incr: StdEng's.
	a64 := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, 2, 3}))
	before := fastAdds.Load()
	out, err := (addEngine{}).Add(a64, a64)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Data().([]float64); got[2] != 6 || fastAdds.Load() != before {
		t.Errorf("float64 Add = %v (fast path %v)", got, fastAdds.Load() != before)
	}
	a := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, 2}))
	incr := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{10, 10}))
	if _, err := (addEngine{}).Add(a, a, tensor.WithIncr(incr)); err != nil {
		t.Fatal(err)
	}
	if got := incr.Data().([]float32); got[1] != 14 || fastAdds.Load() != before {
		t.Errorf("incr Add = %v (fast path %v)", got, fastAdds.Load() != before)
	}
}
