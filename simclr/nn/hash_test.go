package nn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// collidingReLUs builds, in a new graph, s = relu(a) + relu(b) with
// a = [1 2 3 4] and b = 10a (s = [11 22 33 44]), where the two ReLU nodes
// have the same
// 32-bit hash: their ops' serial numbers are found by a birthday search
// over the hash gorgonia computes (Node.WriteHash: type and shape, the
// op's hash, the children's count and hashes).
// With collide false, the two nodes' hashes differ.
func collidingReLUs(t *testing.T, collide bool) (g *gorgonia.ExprGraph, ra, rb, s *gorgonia.Node) {
	t.Helper()
	shape := tensor.Shape{1, 1, 2, 2}
	build := func(sa, sb uint64) (*gorgonia.ExprGraph, *gorgonia.Node, *gorgonia.Node, *gorgonia.Node) {
		g := gorgonia.NewGraph()
		a := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(shape...), gorgonia.WithName("a"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking([]float32{1, 2, 3, 4}))))
		b := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(shape...), gorgonia.WithName("b"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking([]float32{10, 20, 30, 40}))))
		relu := func(x *gorgonia.Node, serial uint64) *gorgonia.Node {
			return gorgonia.Must(gorgonia.ApplyOp(&reluOp{serial: serial, arity: 1, shape: shape.Clone(), dt: tensor.Float32, inputs: gorgonia.Nodes{x}}, x))
		}
		ra, rb := relu(a, sa), relu(b, sb)
		// One node over both (of two nodes of one op, each over one of
		// them, gorgonia's AddNode would keep one already).
		s := gorgonia.Must(gorgonia.Add(ra, rb))
		return g, ra, rb, s
	}
	// The hash of relu(x) with serial n, as gorgonia computes it.
	g, ra0, rb0, s := build(1<<40, 1<<40+1)
	if !collide {
		if ra0.Hashcode() == rb0.Hashcode() {
			t.Fatal("serials 2⁴⁰ and 2⁴⁰+1 collide")
		}
		return g, ra0, rb0, s
	}
	hashOfReLU := func(r *gorgonia.Node, serial uint64) uint32 {
		h := fnv.New32a()
		fmt.Fprintf(h, "%v%v", r.Type(), r.Shape())
		fmt.Fprintf(h, "nn.relu#%d", serial)
		binary.Write(h, binary.LittleEndian, byte(1))
		it := r.Graph().From(r.ID()) // its one child
		it.Next()
		binary.Write(h, binary.LittleEndian, it.Node().(*gorgonia.Node).Hashcode())
		return h.Sum32()
	}
	if got, want := hashOfReLU(ra0, 1<<40), ra0.Hashcode(); got != want {
		t.Fatalf("the test's hash of a ReLU node is %#x, gorgonia's %#x: gorgonia's Node.WriteHash changed", got, want)
	}
	// 2¹⁸ serials for each side: about 2³⁶/2³² = 16 colliding pairs.
	const tries = 1 << 18
	first := make(map[uint32]uint64, tries)
	for i := range uint64(tries) {
		first[hashOfReLU(ra0, 1<<40+2*i)] = 1<<40 + 2*i
	}
	for i := range uint64(tries) {
		sb := 1<<40 + 2*i + 1
		if sa, ok := first[hashOfReLU(rb0, sb)]; ok {
			g, ra, rb, s := build(sa, sb)
			if ra.Hashcode() != rb.Hashcode() || ra == rb {
				t.Fatalf("serials %d and %d: hashes %#x and %#x, want one hash and two nodes", sa, sb, ra.Hashcode(), rb.Hashcode())
			}
			return g, ra, rb, s
		}
	}
	t.Fatal("no colliding serials found")
	return
}

// TestHashCollision shows gorgonia's trap (two nodes of one hash: the
// second reads the first's value, silently) and that Compile refuses such
// a graph instead.
func TestHashCollision(t *testing.T) {
	// gorgonia alone: with a collision, relu(b) reads relu(a)'s value.
	for _, tc := range []struct {
		collide bool
		want    []float32
	}{
		{false, []float32{11, 22, 33, 44}},
		{true, []float32{2, 4, 6, 8}}, // 2·relu(a): the trap
	} {
		g, _, _, s := collidingReLUs(t, tc.collide)
		prog, locMap, err := gorgonia.Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g, gorgonia.WithPrecompiled(prog, locMap))
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		if got := s.Value().Data().([]float32); !slices.Equal(got, tc.want) {
			t.Errorf("gorgonia.Compile, collision %v: s = %v, want %v", tc.collide, got, tc.want)
		}
		vm.Close()
	}

	// This package: refused.
	g, _, _, _ := collidingReLUs(t, true)
	_, _, _, err := newTapeMachine(g, nil, true, nil)
	if !errors.Is(err, ErrHashCollision) {
		t.Fatalf("newTapeMachine of colliding nodes: %v, want ErrHashCollision", err)
	}
	t.Log(err)

	// Ops built apart hash apart.
	a, b := &reluOp{}, &reluOp{}
	if a.Hashcode() == b.Hashcode() {
		t.Errorf("two reluOps hash alike: %#x", a.Hashcode())
	}
}
