package optim

import "gorgonia.org/gorgonia"

// SGD is stochastic gradient descent with momentum and L2 weight decay,
// with PyTorch's semantics (torch.optim.SGD, dampening 0, no Nesterov).
// For each parameter w with gradient g:
//
//	g ← g + wd·w          (unless noDecay(name))
//	v ← μ·v + g           (v starts at 0, so the first v is g)
//	w ← w − lr·v
type SGD struct {
	base
	momentum, weightDecay float64
	noDecay               func(string) bool
}

var _ Solver = (*SGD)(nil)

// NewSGD returns an SGD solver. noDecay, when not nil, names the parameters
// excluded from weight decay (batch-norm scales and shifts, biases).
func NewSGD(lr, momentum, weightDecay float64, noDecay func(name string) bool) *SGD {
	return &SGD{
		base:     base{kind: "sgd", lr: lr, slots: 1, st: State{Solver: "sgd"}},
		momentum: momentum, weightDecay: weightDecay, noDecay: noDecay,
	}
}

// Step updates every parameter in place and zeroes its gradient. Nothing
// is changed when it returns an error.
func (s *SGD) Step(model []gorgonia.ValueGrad) error {
	ps, err := s.gather(model)
	if err != nil {
		return err
	}
	s.begin(ps)
	for i, p := range ps {
		wd := decayFor(s.weightDecay, s.noDecay, p.name)
		switch w := p.w.(type) {
		case []float32:
			sgdUpdate(w, p.g.([]float32), s.st.M[i], s.lr, s.momentum, wd)
		case []float64:
			sgdUpdate(w, p.g.([]float64), s.st.M[i], s.lr, s.momentum, wd)
		}
		finish(p)
	}
	return nil
}

func sgdUpdate[T float](w, g []T, v []float64, lr, mu, wd float64) {
	g, v = g[:len(w)], v[:len(w)]
	for j, wj := range w {
		x := float64(wj)
		d := float64(g[j]) + wd*x
		v[j] = mu*v[j] + d
		w[j] = T(x - lr*v[j])
	}
}
