package nn

import (
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestCompileBorrowingExact: an inference machine whose buffers are a
// training machine's, compiled and run between the training steps (as the
// kNN monitor does between epochs), extracts the same features as one
// with its own buffers, and the training steps give the same losses and
// gradients as without the loan, bit for bit.
func TestCompileBorrowingExact(t *testing.T) {
	const n, c, hw, evalN = 8, 3, 12, 5
	arch := Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}, Head: HeadSpec{Kind: HeadNonlinear, Hidden: 16, Out: 8}}
	// train runs three training steps (plain SGD); after each but the
	// last it extracts H of two batches with an inference net of the
	// state, borrowing the training machine's buffers when borrow.
	train := func(borrow bool) (losses []float64, grads, feats [][]float32) {
		net, err := Build(arch, 2*n, c, hw, hw, true, 7)
		if err != nil {
			t.Fatal(err)
		}
		loss, _, err := NTXent(net.Z, n, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		m := mustCompile(t, net, loss)
		rng := rand.New(rand.NewSource(3))
		for step := range 3 {
			if err := m.Run(map[*gorgonia.Node][]float32{net.X: randf32(rng, 2*n*c*hw*hw)}); err != nil {
				t.Fatal(err)
			}
			losses = append(losses, scalarValue(t, loss))
			for _, p := range m.Learnables() {
				g, err := p.Grad()
				if err != nil {
					t.Fatal(err)
				}
				gd := slices.Clone(g.Data().([]float32))
				grads = append(grads, gd)
				w := p.Value().Data().([]float32)
				for i := range w {
					w[i] -= 0.1 * gd[i]
				}
			}
			m.Reset()
			if step == 2 {
				break
			}
			st, err := net.State()
			if err != nil {
				t.Fatal(err)
			}
			inf, err := Build(arch, evalN, c, hw, hw, false, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := inf.SetState(st); err != nil {
				t.Fatal(err)
			}
			var im *Machine
			if borrow {
				im, err = inf.CompileBorrowing(m, nil)
			} else {
				im, err = inf.Compile(nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if im.Buffers.Borrowed != borrow {
				t.Fatalf("Buffers.Borrowed = %v, want %v", im.Buffers.Borrowed, borrow)
			}
			if borrow {
				if err := m.Run(map[*gorgonia.Node][]float32{net.X: make([]float32, 2*n*c*hw*hw)}); err == nil || !strings.Contains(err.Error(), "lent") {
					t.Fatalf("Run of a lent machine: error %v, want one saying its buffers are lent", err)
				}
			}
			for range 2 {
				if err := im.Run(map[*gorgonia.Node][]float32{inf.X: randf32(rng, evalN*c*hw*hw)}); err != nil {
					t.Fatal(err)
				}
				feats = append(feats, slices.Clone(inf.H.Value().Data().([]float32)))
				im.Reset()
			}
			if err := im.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return losses, grads, feats
	}
	wantLoss, wantGrads, wantFeats := train(false)
	gotLoss, gotGrads, gotFeats := train(true)
	for i := range wantLoss {
		if math.Float64bits(gotLoss[i]) != math.Float64bits(wantLoss[i]) {
			t.Fatalf("step %d: loss %v lending the buffers, %v without", i, gotLoss[i], wantLoss[i])
		}
	}
	for _, c := range []struct {
		what      string
		got, want [][]float32
	}{{"gradient", gotGrads, wantGrads}, {"features", gotFeats, wantFeats}} {
		for i := range c.want {
			for j := range c.want[i] {
				if math.Float32bits(c.got[i][j]) != math.Float32bits(c.want[i][j]) {
					t.Fatalf("%s %d[%d]: %v lending the buffers, %v without", c.what, i, j, c.got[i][j], c.want[i][j])
				}
			}
		}
	}
}

// TestCompileBorrowingRefuses: what cannot lend, and a lender too small,
// whose buffers are then left alone.
func TestCompileBorrowingRefuses(t *testing.T) {
	arch := Arch{Encoder: EncoderSpec{Preset: PresetResNetSmall, Width: 4}}
	build := func(batch int) *Net {
		net, err := Build(arch, batch, 1, 12, 12, false, 1)
		if err != nil {
			t.Fatal(err)
		}
		return net
	}
	big, small := build(8), build(2)
	lender := mustCompile(t, big, nil)
	closed := mustCompile(t, build(8), nil)
	closed.Close()
	for _, tc := range []struct {
		name   string
		lender *Machine
		want   string
	}{
		{"nil", nil, "nil lender"},
		{"closed", closed, "closed"},
		{"its own net's", lender, "its own machine"},
	} {
		if _, err := big.CompileBorrowing(tc.lender, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s lender: error %v, want %q", tc.name, err, tc.want)
		}
	}
	m, err := small.CompileBorrowing(lender, nil)
	if err != nil || !m.Buffers.Borrowed {
		t.Fatalf("a small net borrowing: %v, Borrowed %v; want borrowed", err, m != nil && m.Buffers.Borrowed)
	}
	if _, err := build(2).CompileBorrowing(lender, nil); err == nil || !strings.Contains(err.Error(), "lent already") {
		t.Errorf("borrowing from a lent machine: error %v, want lent already", err)
	}
	m.Close()
	mustRun(t, lender) // returned at Close
	// Too small a lender: the borrower gets buffers of its own and the
	// lender stays usable.
	tiny := mustCompile(t, build(2), nil)
	m, err = build(8).CompileBorrowing(tiny, nil)
	if err != nil || m.Buffers.Borrowed {
		t.Fatalf("borrowing from too small a lender: %v, Borrowed %v; want own buffers", err, m != nil && m.Buffers.Borrowed)
	}
	mustRun(t, tiny)
	m.Close()
}
