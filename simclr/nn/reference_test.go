package nn

import (
	"fmt"
	"math"
	"testing"
)

// A plain-Go float64 forward pass of a Net from its State, written from
// the PyTorch reference model (bench/torch_simclr_step.py at the
// repository's root): it checks the wiring (strides, padding, shortcuts,
// pooling, head, classifier, parameter names) and both BatchNorm modes.

type refNet struct {
	t     testing.TB
	s     *State
	train bool
	// batch statistics of each BN layer in training mode: mean and
	// unbiased variance, for the running-statistics update.
	batchMean, batchVarUnbiased map[string][]float64
}

type act struct {
	d          []float64
	b, c, h, w int
}

func (r *refNet) p(name string) []float64 {
	r.t.Helper()
	p, ok := r.s.Params[name]
	if !ok {
		r.t.Fatalf("reference: no parameter %s in the state", name)
	}
	return toFloat64s(p.Data)
}

func (r *refNet) conv(name string, x act, out, k, stride, pad int) act {
	w := r.p(name + ".w")
	ho := (x.h+2*pad-k)/stride + 1
	wo := (x.w+2*pad-k)/stride + 1
	y := act{make([]float64, x.b*out*ho*wo), x.b, out, ho, wo}
	for n := 0; n < x.b; n++ {
		for o := 0; o < out; o++ {
			for i := 0; i < ho; i++ {
				for j := 0; j < wo; j++ {
					s := 0.0
					for c := 0; c < x.c; c++ {
						for ki := 0; ki < k; ki++ {
							for kj := 0; kj < k; kj++ {
								yi, xj := i*stride-pad+ki, j*stride-pad+kj
								if yi < 0 || yi >= x.h || xj < 0 || xj >= x.w {
									continue
								}
								s += w[((o*x.c+c)*k+ki)*k+kj] * x.d[((n*x.c+c)*x.h+yi)*x.w+xj]
							}
						}
					}
					y.d[((n*out+o)*ho+i)*wo+j] = s
				}
			}
		}
	}
	return y
}

func (r *refNet) bn(name string, x act) act {
	gamma, beta := r.p(name+".gamma"), r.p(name+".beta")
	st, ok := r.s.BN[name]
	if !ok {
		r.t.Fatalf("reference: no batch-norm statistics %s", name)
	}
	y := act{make([]float64, len(x.d)), x.b, x.c, x.h, x.w}
	hw := x.h * x.w
	cnt := float64(x.b * hw)
	bm, bv := make([]float64, x.c), make([]float64, x.c)
	for c := 0; c < x.c; c++ {
		mean, variance := float64(st.Mean[c]), float64(st.Var[c])
		if r.train {
			s := 0.0
			for n := 0; n < x.b; n++ {
				for _, v := range x.d[(n*x.c+c)*hw : (n*x.c+c+1)*hw] {
					s += v
				}
			}
			mean = s / cnt
			ss := 0.0
			for n := 0; n < x.b; n++ {
				for _, v := range x.d[(n*x.c+c)*hw : (n*x.c+c+1)*hw] {
					ss += (v - mean) * (v - mean)
				}
			}
			variance = ss / cnt // biased, for normalising
			bm[c], bv[c] = mean, ss/(cnt-1)
		}
		inv := 1 / math.Sqrt(variance+bnEpsilon)
		for n := 0; n < x.b; n++ {
			for i := (n*x.c + c) * hw; i < (n*x.c+c+1)*hw; i++ {
				y.d[i] = gamma[c]*(x.d[i]-mean)*inv + beta[c]
			}
		}
	}
	if r.train {
		r.batchMean[name], r.batchVarUnbiased[name] = bm, bv
	}
	return y
}

func relu(x act) act {
	y := act{make([]float64, len(x.d)), x.b, x.c, x.h, x.w}
	for i, v := range x.d {
		y.d[i] = math.Max(v, 0)
	}
	return y
}

func (r *refNet) block(name string, x act, out, stride int) act {
	y := relu(r.bn(name+".bn1", r.conv(name+".conv1", x, out, 3, stride, 1)))
	y = r.bn(name+".bn2", r.conv(name+".conv2", y, out, 3, 1, 1))
	short := x
	if stride != 1 || x.c != out {
		short = r.bn(name+".short.bn", r.conv(name+".short.conv", x, out, 1, stride, 0))
	}
	for i := range y.d {
		y.d[i] += short.d[i]
	}
	return relu(y)
}

// linear is x [B, in] · W [in, out] + b.
func (r *refNet) linear(name string, x []float64, batch, out int) []float64 {
	w, b := r.p(name+".w"), r.p(name+".b")
	in := len(x) / batch
	y := make([]float64, batch*out)
	for n := 0; n < batch; n++ {
		for o := 0; o < out; o++ {
			s := b[o]
			for i := 0; i < in; i++ {
				s += x[n*in+i] * w[i*out+o]
			}
			y[n*out+o] = s
		}
	}
	return y
}

// refForward returns h, z (nil without a head) and logits (nil without a
// classifier) of arch with the parameters and statistics of s.
func refForward(t testing.TB, s *State, arch Arch, x []float64, b, c, h, w int, train bool) (r *refNet, hOut, z, logits []float64) {
	t.Helper()
	r = &refNet{t: t, s: s, train: train, batchMean: map[string][]float64{}, batchVarUnbiased: map[string][]float64{}}
	res, err := arch.Encoder.resolve()
	if err != nil {
		t.Fatal(err)
	}
	a := act{x, b, c, h, w}
	a = relu(r.bn("enc.stem.bn", r.conv("enc.stem.conv", a, res.stemWidth, 3, 1, 1)))
	for si, st := range res.stages {
		for bi := 0; bi < st.blocks; bi++ {
			stride := 1
			if bi == 0 {
				stride = st.stride
			}
			a = r.block(fmt.Sprintf("enc.s%d.b%d", si+1, bi), a, st.width, stride)
		}
	}
	hw := a.h * a.w
	hOut = make([]float64, a.b*a.c)
	for i := range hOut {
		for _, v := range a.d[i*hw : (i+1)*hw] {
			hOut[i] += v / float64(hw)
		}
	}
	feat := a.c
	switch arch.Head.Kind {
	case HeadNone:
		z = hOut
	case HeadLinear:
		z = r.linear("head.l1", hOut, b, arch.Head.Out)
	case HeadNonlinear:
		hidden := arch.Head.Hidden
		if hidden == 0 {
			hidden = feat
		}
		u := r.linear("head.l1", hOut, b, hidden)
		for i, v := range u {
			u[i] = math.Max(v, 0)
		}
		z = r.linear("head.l2", u, b, arch.Head.Out)
	}
	if arch.Classes > 0 {
		logits = r.linear("cls", hOut, b, arch.Classes)
	}
	return r, hOut, z, logits
}
