package optim

import (
	"math"

	"gorgonia.org/gorgonia"
)

// Adam is the Adam solver with PyTorch's semantics (torch.optim.Adam,
// amsgrad off): L2 weight decay is added to the gradient (not decoupled as
// in AdamW), and both moments are bias-corrected. At step t (1-based), for
// each parameter w with gradient g:
//
//	g ← g + wd·w                 (unless noDecay(name))
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	w ← w − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
type Adam struct {
	base
	beta1, beta2, eps, weightDecay float64
	noDecay                        func(string) bool
}

var _ Solver = (*Adam)(nil)

// NewAdam returns an Adam solver; PyTorch's defaults are beta1 0.9,
// beta2 0.999, eps 1e-8.
func NewAdam(lr, beta1, beta2, eps, weightDecay float64, noDecay func(name string) bool) *Adam {
	return &Adam{
		base:  base{kind: "adam", lr: lr, slots: 2, st: State{Solver: "adam"}},
		beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, noDecay: noDecay,
	}
}

// Step updates every parameter in place and zeroes its gradient. Nothing
// is changed when it returns an error.
func (s *Adam) Step(model []gorgonia.ValueGrad) error {
	ps, err := s.gather(model)
	if err != nil {
		return err
	}
	s.begin(ps)
	t := float64(s.st.Steps)
	bc1 := 1 - math.Pow(s.beta1, t)
	bc2 := math.Sqrt(1 - math.Pow(s.beta2, t))
	for i, p := range ps {
		k := adamStep{
			stepSize: s.lr / bc1, bc2: bc2, b1: s.beta1, b2: s.beta2, eps: s.eps,
			wd: decayFor(s.weightDecay, s.noDecay, p.name),
		}
		switch w := p.w.(type) {
		case []float32:
			adamUpdate(w, p.g.([]float32), s.st.M[i], s.st.V[i], k)
		case []float64:
			adamUpdate(w, p.g.([]float64), s.st.M[i], s.st.V[i], k)
		}
		finish(p)
	}
	return nil
}

// adamStep holds the per-step constants of one Adam update.
type adamStep struct {
	stepSize, bc2, b1, b2, eps, wd float64
}

func adamUpdate[T float](w, g []T, m, v []float64, k adamStep) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for j, wj := range w {
		x := float64(wj)
		d := float64(g[j]) + k.wd*x
		m[j] = k.b1*m[j] + (1-k.b1)*d
		v[j] = k.b2*v[j] + (1-k.b2)*d*d
		w[j] = T(x - k.stepSize*m[j]/(math.Sqrt(v[j])/k.bc2+k.eps))
	}
}
