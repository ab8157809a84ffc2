package optim

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Solver is a gorgonia.Solver whose learning rate can be changed between
// steps (by a schedule) and whose state can be saved and restored.
type Solver interface {
	gorgonia.Solver
	// SetLR sets the learning rate used by the next Step.
	SetLR(lr float64)
	// LR returns the current learning rate.
	LR() float64
	// State returns a deep copy of the optimiser state.
	State() *State
	// SetState replaces the optimiser state by a deep copy of s. It fails
	// when s was made by another kind of solver or is inconsistent.
	SetState(s *State) error
}

// State is the optimiser state of a Solver: what a checkpoint needs so that
// a resumed run takes exactly the steps an uninterrupted one would. It is
// gob-encodable. The learning rate is not part of it: schedules set it
// before every step.
type State struct {
	Solver string      // "sgd", "lars" or "adam"
	Steps  int         // steps taken
	Names  []string    // parameter names by position ("" when a ValueGrad has no Name method)
	M      [][]float64 // per parameter: SGD/LARS momentum buffer, Adam first moment; nil before the first step
	V      [][]float64 // per parameter: Adam second moment; nil for SGD and LARS
}

// clone returns a deep copy of s.
func (s *State) clone() *State {
	c := &State{Solver: s.Solver, Steps: s.Steps, Names: append([]string(nil), s.Names...)}
	c.M = cloneSlots(s.M)
	c.V = cloneSlots(s.V)
	return c
}

func cloneSlots(src [][]float64) [][]float64 {
	if src == nil {
		return nil
	}
	dst := make([][]float64, len(src))
	for i, v := range src {
		dst[i] = append([]float64(nil), v...)
	}
	return dst
}

// base holds what the three solvers share: the learning rate, the
// parameter bookkeeping and the state.
type base struct {
	kind  string
	lr    float64
	slots int // state slices per parameter: 1 (M) or 2 (M and V)
	st    State
}

func (b *base) SetLR(lr float64) { b.lr = lr }
func (b *base) LR() float64      { return b.lr }
func (b *base) State() *State    { return b.st.clone() }

// SetState replaces the state by a deep copy of s after checking it.
func (b *base) SetState(s *State) error {
	if s == nil {
		return fmt.Errorf("optim: %s: nil state", b.kind)
	}
	if s.Solver != b.kind {
		return fmt.Errorf("optim: state of a %q solver cannot be loaded into a %q solver (the checkpoint was made with another optimizer)", s.Solver, b.kind)
	}
	if s.Steps < 0 {
		return fmt.Errorf("optim: %s: state has %d steps, want >= 0", b.kind, s.Steps)
	}
	if s.M != nil || s.Names != nil {
		if len(s.M) != len(s.Names) {
			return fmt.Errorf("optim: %s: state has %d names and %d momentum slices, want equal", b.kind, len(s.Names), len(s.M))
		}
		if b.slots == 2 && len(s.V) != len(s.M) {
			return fmt.Errorf("optim: %s: state has %d first and %d second moments, want equal", b.kind, len(s.M), len(s.V))
		}
		for i := range s.M {
			if b.slots == 2 && len(s.V[i]) != len(s.M[i]) {
				return fmt.Errorf("optim: %s: parameter %q: %d first and %d second moments, want equal", b.kind, s.Names[i], len(s.M[i]), len(s.V[i]))
			}
		}
	}
	if b.slots == 1 && s.V != nil {
		return fmt.Errorf("optim: %s: state has second moments, want none", b.kind)
	}
	b.st = *s.clone()
	return nil
}

// param is one parameter prepared for an update: its value and gradient
// as float32 or float64 slices, and how to write them back when the
// tensor is a scalar (whose Data is not a slice).
type param struct {
	name   string
	w, g   any // []float32 or []float64, same type and length
	n      int
	commit func() // writes scalar w and zeroed g back; nil for non-scalars
}

// gather checks every ValueGrad and, on the first step, records the
// parameter list in the state. Nothing is modified when it fails.
func (b *base) gather(model []gorgonia.ValueGrad) ([]param, error) {
	ps := make([]param, len(model))
	for i, vg := range model {
		name := ""
		if nm, ok := vg.(gorgonia.Namer); ok {
			name = nm.Name()
		}
		gv, err := vg.Grad()
		if err != nil {
			return nil, fmt.Errorf("optim: %s: parameter %d (%q) has no gradient: %w", b.kind, i, name, err)
		}
		p, err := prepare(name, vg.Value(), gv)
		if err != nil {
			return nil, fmt.Errorf("optim: %s: parameter %d (%q): %w", b.kind, i, name, err)
		}
		ps[i] = p
	}
	if b.st.M == nil {
		return ps, nil
	}
	if len(ps) != len(b.st.M) {
		return nil, fmt.Errorf("optim: %s: step with %d parameters, state has %d (the model changed since the state was made)", b.kind, len(ps), len(b.st.M))
	}
	for i, p := range ps {
		if p.name != b.st.Names[i] {
			return nil, fmt.Errorf("optim: %s: parameter %d is %q, state has %q (the model changed since the state was made)", b.kind, i, p.name, b.st.Names[i])
		}
		if p.n != len(b.st.M[i]) {
			return nil, fmt.Errorf("optim: %s: parameter %q has %d elements, state has %d", b.kind, p.name, p.n, len(b.st.M[i]))
		}
	}
	return ps, nil
}

// begin allocates the state on the first step and counts the step.
func (b *base) begin(ps []param) {
	if b.st.M == nil {
		b.st.Names = make([]string, len(ps))
		b.st.M = make([][]float64, len(ps))
		if b.slots == 2 {
			b.st.V = make([][]float64, len(ps))
		}
		for i, p := range ps {
			b.st.Names[i] = p.name
			b.st.M[i] = make([]float64, p.n)
			if b.slots == 2 {
				b.st.V[i] = make([]float64, p.n)
			}
		}
	}
	b.st.Steps++
}

// finish zeroes the gradient of p and writes scalars back.
func finish(p param) {
	switch g := p.g.(type) {
	case []float32:
		clear(g)
	case []float64:
		clear(g)
	}
	if p.commit != nil {
		p.commit()
	}
}

// prepare turns a value and its gradient into slices.
func prepare(name string, wv, gv gorgonia.Value) (param, error) {
	w, ok := wv.(*tensor.Dense)
	if !ok {
		return param{}, fmt.Errorf("value is %T, want *tensor.Dense", wv)
	}
	g, ok := gv.(*tensor.Dense)
	if !ok {
		return param{}, fmt.Errorf("gradient is %T, want *tensor.Dense", gv)
	}
	if w.Dtype() != g.Dtype() {
		return param{}, fmt.Errorf("value is %v but gradient is %v", w.Dtype(), g.Dtype())
	}
	if w.Dtype() != tensor.Float32 && w.Dtype() != tensor.Float64 {
		return param{}, fmt.Errorf("dtype %v not supported (want float32 or float64)", w.Dtype())
	}
	if w.RequiresIterator() || g.RequiresIterator() {
		return param{}, fmt.Errorf("value or gradient is a non-contiguous view")
	}
	if !w.Shape().Eq(g.Shape()) {
		return param{}, fmt.Errorf("value shape %v but gradient shape %v", w.Shape(), g.Shape())
	}
	p := param{name: name}
	if w.IsScalar() {
		// Data() of a scalar is a value, not a slice: update copies and
		// write them back.
		switch w.Dtype() {
		case tensor.Float32:
			ws, gs := []float32{w.Get(0).(float32)}, []float32{g.Get(0).(float32)}
			p.w, p.g = ws, gs
			p.commit = func() { w.Set(0, ws[0]); g.Set(0, gs[0]) }
		default:
			ws, gs := []float64{w.Get(0).(float64)}, []float64{g.Get(0).(float64)}
			p.w, p.g = ws, gs
			p.commit = func() { w.Set(0, ws[0]); g.Set(0, gs[0]) }
		}
		p.n = 1
		return p, nil
	}
	p.w, p.g = w.Data(), g.Data()
	switch ws := p.w.(type) {
	case []float32:
		p.n = len(ws)
		if len(p.g.([]float32)) != p.n {
			return param{}, fmt.Errorf("value has %d elements, gradient %d", p.n, len(p.g.([]float32)))
		}
	case []float64:
		p.n = len(ws)
		if len(p.g.([]float64)) != p.n {
			return param{}, fmt.Errorf("value has %d elements, gradient %d", p.n, len(p.g.([]float64)))
		}
	}
	return p, nil
}

// float is the element type of a parameter.
type float interface{ ~float32 | ~float64 }

// norms returns ||w|| and ||g + wd*w|| in float64.
func norms[T float](w, g []T, wd float64) (wn, gn float64) {
	g = g[:len(w)]
	for i, wi := range w {
		x := float64(wi)
		d := float64(g[i]) + wd*x
		wn += x * x
		gn += d * d
	}
	return math.Sqrt(wn), math.Sqrt(gn)
}

// decayFor returns the weight decay of a parameter.
func decayFor(wd float64, noDecay func(string) bool, name string) float64 {
	if noDecay != nil && noDecay(name) {
		return 0
	}
	return wd
}
