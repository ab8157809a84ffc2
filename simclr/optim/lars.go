package optim

import "gorgonia.org/gorgonia"

// LARS is the layer-wise adaptive rate scaling solver of the SimCLR paper,
// as google-research/simclr lars_optimizer.py implements it (classic
// momentum, no Nesterov). For each parameter tensor w with gradient g:
//
//	g ← g + wd·w                                  (adapted parameters only)
//	r  = trust·‖w‖/‖g‖ if ‖w‖ > 0 and ‖g‖ > 0, else 1   (adapted parameters only; r = 1 otherwise)
//	v ← μ·v + lr·r·g
//	w ← w − v
//
// Norms are L2 norms over the whole tensor (one layer), ‖g‖ after weight
// decay. Parameters with noDecay(name) are excluded from both weight decay
// and adaptation, as the reference code excludes batch-norm and bias
// parameters. Note that v carries the learning rate: changing lr scales
// only the new contribution, as in the reference.
type LARS struct {
	base
	momentum, weightDecay, trust float64
	noDecay                      func(string) bool
}

var _ Solver = (*LARS)(nil)

// DefaultTrust is the LARS trust coefficient of the SimCLR paper.
const DefaultTrust = 0.001

// NewLARS returns a LARS solver. trust is the trust coefficient (η in the
// LARS paper; 0.001 in SimCLR — DefaultTrust); a trust <= 0 means
// DefaultTrust.
func NewLARS(lr, momentum, weightDecay, trust float64, noDecay func(name string) bool) *LARS {
	if !(trust > 0) {
		trust = DefaultTrust
	}
	return &LARS{
		base:     base{kind: "lars", lr: lr, slots: 1, st: State{Solver: "lars"}},
		momentum: momentum, weightDecay: weightDecay, trust: trust, noDecay: noDecay,
	}
}

// Trust returns the trust coefficient in use.
func (s *LARS) Trust() float64 { return s.trust }

// Step updates every parameter in place and zeroes its gradient. Nothing
// is changed when it returns an error.
func (s *LARS) Step(model []gorgonia.ValueGrad) error {
	ps, err := s.gather(model)
	if err != nil {
		return err
	}
	s.begin(ps)
	for i, p := range ps {
		adapt := s.noDecay == nil || !s.noDecay(p.name)
		switch w := p.w.(type) {
		case []float32:
			larsUpdate(w, p.g.([]float32), s.st.M[i], s.lr, s.momentum, s.weightDecay, s.trust, adapt)
		case []float64:
			larsUpdate(w, p.g.([]float64), s.st.M[i], s.lr, s.momentum, s.weightDecay, s.trust, adapt)
		}
		finish(p)
	}
	return nil
}

// larsRatio is the trust ratio of one tensor.
func larsRatio(wn, gn, trust float64) float64 {
	if wn > 0 && gn > 0 {
		return trust * wn / gn
	}
	return 1
}

func larsUpdate[T float](w, g []T, v []float64, lr, mu, wd, trust float64, adapt bool) {
	g, v = g[:len(w)], v[:len(w)]
	ratio := 1.0
	if adapt {
		wn, gn := norms(w, g, wd)
		ratio = larsRatio(wn, gn, trust)
	} else {
		wd = 0
	}
	scaled := lr * ratio
	for j, wj := range w {
		x := float64(wj)
		d := float64(g[j]) + wd*x
		v[j] = mu*v[j] + scaled*d
		w[j] = T(x - v[j])
	}
}
