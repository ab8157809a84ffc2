package nn

import (
	"fmt"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The whole resnet-small + nonlinear head + NT-Xent, in float64: sampled
// entries of every parameter's gradient against central differences. Layer
// tests pass one at a time; this catches what only shows when they are
// chained (gorgonia reusing an intermediate's memory in the backward pass).
func TestFullNetFiniteDifferences(t *testing.T) {
	arch := Arch{
		Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4, InChannels: 2},
		Head:    HeadSpec{Kind: HeadNonlinear, Out: 8},
	}
	const n, c, side = 3, 2, 8
	net, err := build(arch, 2*n, c, side, side, true, 5, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(9))
	x := tensor.New(tensor.WithShape(2*n, c, side, side), tensor.WithBacking(randn(r, 2*n*c*side*side, 1)))
	if err := gorgonia.Let(net.X, x); err != nil {
		t.Fatal(err)
	}
	loss, _, err := NTXent(net.Z, n, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := mustCompile(t, net, loss)
	mustRun(t, m)
	ps := m.Learnables()
	if len(ps) < 20 {
		t.Fatalf("%d learnables, want the whole net", len(ps))
	}
	analytic := make([][]float64, len(ps))
	for i, p := range ps {
		analytic[i] = grad(t, p)
	}
	const h = 1e-5
	for i, p := range ps {
		d := p.Value().Data().([]float64)
		idx := []int{0, len(d) / 2, len(d) - 1}
		var got, want []float64
		for _, j := range idx {
			orig := d[j]
			d[j] = orig + h
			mustRun(t, m)
			up := scalarValue(t, loss)
			d[j] = orig - h
			mustRun(t, m)
			down := scalarValue(t, loss)
			d[j] = orig
			want = append(want, (up-down)/(2*h))
			got = append(got, analytic[i][j])
		}
		checkClose(t, fmt.Sprintf("grad %s", p.Name()), got, want, 1e-6, 1e-4)
	}
}
