package nn

import (
	"encoding/gob"
	"fmt"
	"io"
	"sort"

	"gorgonia.org/tensor"
)

// Tensor is one parameter's values, row-major, with its shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// BNStats are one BatchNorm layer's running statistics, one value per
// channel.
type BNStats struct {
	Mean, Var []float32
}

// State is everything needed to restore a model exactly: the parameters by
// name ("enc.stem.conv.w", "enc.s1.b0.bn1.gamma", "head.l1.w", "cls.b", …)
// and the running statistics of every BatchNorm layer by layer name
// ("enc.stem.bn", "enc.s2.b0.short.bn", …), which gorgonia keeps inside its
// ops rather than in nodes. Arch records the network it came from. It is
// gob-encodable; Save and LoadState write and read it.
type State struct {
	Arch   Arch
	Params map[string]Tensor
	BN     map[string]BNStats
}

// State returns a deep copy of the net's parameters and BatchNorm running
// statistics.
func (n *Net) State() (*State, error) {
	s := &State{Arch: n.Arch, Params: make(map[string]Tensor, len(n.params)), BN: make(map[string]BNStats, len(n.bns))}
	for _, p := range n.params {
		t, ok := p.node.Value().(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("nn: state: parameter %s has no tensor value", p.name)
		}
		s.Params[p.name] = Tensor{Shape: append([]int(nil), t.Shape()...), Data: toFloat32s(t.Data())}
	}
	for _, l := range n.bns {
		m, v := l.op.Stats()
		s.BN[l.name] = BNStats{Mean: toFloat32s(m.Data()), Var: toFloat32s(v.Data())}
	}
	return s, nil
}

// SetState copies into the net every parameter and BatchNorm statistic it
// has from s. A name the net has but s lacks is an error unless it belongs
// to the projection head or the classifier ("head.", "cls."), which keep
// their initialisation: an encoder-only state can seed a classifier net.
// Names in s the net lacks are ignored. A shape mismatch is an error naming
// the parameter; nothing is changed when an error is returned.
func (n *Net) SetState(s *State) error {
	if s == nil {
		return fmt.Errorf("nn: set state: nil state")
	}
	type copyOp struct {
		dst any
		src []float32
	}
	var ops []copyOp
	for _, p := range n.params {
		src, ok := s.Params[p.name]
		if !ok {
			if isHeadOrClassifier(p.name) {
				continue
			}
			return fmt.Errorf("nn: set state: parameter %s missing from the state (it has %d parameters; was it saved from another architecture?)",
				p.name, len(s.Params))
		}
		t, ok := p.node.Value().(*tensor.Dense)
		if !ok {
			return fmt.Errorf("nn: set state: parameter %s has no tensor value", p.name)
		}
		if !sameShape(t.Shape(), src.Shape) || len(src.Data) != t.Shape().TotalSize() {
			return fmt.Errorf("nn: set state: parameter %s has shape %v in the net, %v (%d values) in the state",
				p.name, t.Shape(), src.Shape, len(src.Data))
		}
		ops = append(ops, copyOp{t.Data(), src.Data})
	}
	for _, l := range n.bns {
		src, ok := s.BN[l.name]
		if !ok {
			if isHeadOrClassifier(l.name) {
				continue
			}
			return fmt.Errorf("nn: set state: batch-norm statistics of %s missing from the state", l.name)
		}
		if len(src.Mean) != l.channels || len(src.Var) != l.channels {
			return fmt.Errorf("nn: set state: batch-norm %s has %d channels in the net, mean %d and var %d in the state",
				l.name, l.channels, len(src.Mean), len(src.Var))
		}
		m, v := l.op.Stats()
		ops = append(ops, copyOp{m.Data(), src.Mean}, copyOp{v.Data(), src.Var})
	}
	for _, o := range ops {
		switch d := o.dst.(type) {
		case []float32:
			copy(d, o.src)
		case []float64:
			for i, x := range o.src {
				d[i] = float64(x)
			}
		}
	}
	return nil
}

// Names returns the sorted parameter names of s.
func (s *State) Names() []string {
	out := make([]string, 0, len(s.Params))
	for k := range s.Params {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Save writes s with encoding/gob.
func (s *State) Save(w io.Writer) error {
	if err := gob.NewEncoder(w).Encode(s); err != nil {
		return fmt.Errorf("nn: save state: %w", err)
	}
	return nil
}

// LoadState reads a State written by Save.
func LoadState(r io.Reader) (*State, error) {
	var s State
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("nn: load state: %w (is it a file written by State.Save?)", err)
	}
	for name, t := range s.Params {
		size := 1
		for _, d := range t.Shape {
			size *= d
		}
		if size != len(t.Data) {
			return nil, fmt.Errorf("nn: load state: parameter %s has shape %v but %d values", name, t.Shape, len(t.Data))
		}
	}
	return &s, nil
}

// runningStats copies every BatchNorm layer's running statistics.
func (n *Net) runningStats() [][2][]float64 {
	out := make([][2][]float64, len(n.bns))
	for i, l := range n.bns {
		m, v := getRunning(l.op)
		out[i] = [2][]float64{m, v}
	}
	return out
}

// setRunningStats restores what runningStats returned.
func (n *Net) setRunningStats(st [][2][]float64) error {
	for i, l := range n.bns {
		if err := setRunning(l.op, st[i][0], st[i][1]); err != nil {
			return fmt.Errorf("nn: %s: %w", l.name, err)
		}
	}
	return nil
}

func sameShape(a tensor.Shape, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func toFloat32s(d any) []float32 {
	switch d := d.(type) {
	case []float32:
		return append([]float32(nil), d...)
	case []float64:
		out := make([]float32, len(d))
		for i, x := range d {
			out[i] = float32(x)
		}
		return out
	}
	return nil
}
