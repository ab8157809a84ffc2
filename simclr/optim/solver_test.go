package optim

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fakeParam is a ValueGrad with a name whose gradient the test sets.
type fakeParam struct {
	name string
	w, g *tensor.Dense
}

func (p *fakeParam) Value() gorgonia.Value         { return p.w }
func (p *fakeParam) Grad() (gorgonia.Value, error) { return p.g, nil }
func (p *fakeParam) Name() string                  { return p.name }

func newParam(name string, dt tensor.Dtype, w []float64) *fakeParam {
	return &fakeParam{name: name, w: dense(dt, w), g: dense(dt, make([]float64, len(w)))}
}

func dense(dt tensor.Dtype, v []float64) *tensor.Dense {
	if dt == tensor.Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(f))
	}
	return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(append([]float64(nil), v...)))
}

func values(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	}
	panic(fmt.Sprintf("unexpected data %T", t.Data()))
}

func setGrad(p *fakeParam, g []float64) {
	switch d := p.g.Data().(type) {
	case []float32:
		for i, x := range g {
			d[i] = float32(x)
		}
	case []float64:
		copy(d, g)
	}
}

// The fixture of the update-rule tests: a decayed/adapted parameter "w"
// and a batch-norm-like parameter "bn" (excluded by noDecayBN), three
// steps with these gradients.
var (
	w0    = map[string][]float64{"w": {1.0, -2.0, 0.5}, "bn": {0.3, -0.7}}
	grads = []map[string][]float64{
		{"w": {0.5, 0.25, -1.0}, "bn": {0.1, -0.2}},
		{"w": {-0.1, 0.3, 0.2}, "bn": {0.05, 0.4}},
		{"w": {0.2, -0.4, 0.6}, "bn": {-0.3, 0.1}},
	}
)

func noDecayBN(name string) bool { return strings.HasPrefix(name, "bn") }

type stepWant map[string][]float64

// Expected values after each of the three steps, computed by hand from
// the update rules in the doc comments (float64 arithmetic). Worked first
// steps:
//
//	sgd momentum+wd, w[0]: d = 0.5 + 0.01·1 = 0.51; v = 0.51; w = 1 − 0.1·0.51 = 0.949
//	  bn[0] with noDecay: d = 0.1; w = 0.3 − 0.1·0.1 = 0.29
//	lars wd, w: g' = g + 0.01·w = (0.51, 0.23, −0.995); ‖w‖ = 2.2913, ‖g'‖ = 1.1373;
//	  r = 0.001·2.2913/1.1373 = 0.0020147; w[0] = 1 − 0.5·r·0.51 = 0.99948815
//	lars nodecay, bn: r = 1, no decay: bn[0] = 0.3 − 0.5·0.1 = 0.25
//	adam, step 1: m̂ = g', v̂ = g'², so w ← w − lr·g'/(|g'|+ε):
//	  w[0] = 1 − 0.01·0.6/(0.6+1e-8) = 0.99000000017
var ruleCases = []struct {
	name string
	new  func() Solver
	want []stepWant
}{
	{"sgd momentum+wd", func() Solver { return NewSGD(0.1, 0.9, 0.01, nil) }, []stepWant{
		{"w": {0.949, -2.023, 0.5995}, "bn": {0.2897, -0.6792999999999999}},
		{"w": {0.9121509999999999, -2.071677, 0.6684505000000001}, "bn": {0.2751403, -0.6999906999999999}},
		{"w": {0.8580747489999999, -2.073414623, 0.6698374995}, "bn": {0.2917614297, -0.7279123392999999}},
	}},
	{"sgd noDecay excludes bn", func() Solver { return NewSGD(0.1, 0.9, 0.01, noDecayBN) }, []stepWant{
		{"w": {0.949, -2.023, 0.5995}, "bn": {0.29, -0.6799999999999999}},
		{"w": {0.9121509999999999, -2.071677, 0.6684505000000001}, "bn": {0.27599999999999997, -0.702}},
		{"w": {0.8580747489999999, -2.073414623, 0.6698374995}, "bn": {0.29339999999999994, -0.7318}},
	}},
	{"sgd no momentum no wd", func() Solver { return NewSGD(0.5, 0, 0, nil) }, []stepWant{
		{"w": {0.75, -2.125, 1.0}, "bn": {0.25, -0.6}},
		{"w": {0.8, -2.275, 0.9}, "bn": {0.225, -0.8}},
		{"w": {0.7000000000000001, -2.0749999999999997, 0.6000000000000001}, "bn": {0.375, -0.8500000000000001}},
	}},
	{"lars wd", func() Solver { return NewLARS(0.5, 0.9, 0.01, 0.001, nil) }, []stepWant{
		{"w": {0.9994881491155896, -2.000230834712577, 0.5009986110391927}, "bn": {0.2998303652307005, -0.6996590835218932}},
		{"w": {0.999315126426852, -2.0013334173521447, 0.5012421792426345}, "bn": {0.2996268289096542, -0.6997294430220312}},
		{"w": {0.9988451249118753, -2.0016971390812817, 0.5005559136359677}, "bn": {0.2998068466756821, -0.6999064978871855}},
	}},
	{"lars noDecay excludes bn from decay and adaptation", func() Solver { return NewLARS(0.5, 0.9, 0.01, 0.001, noDecayBN) }, []stepWant{
		{"w": {0.9994881491155896, -2.000230834712577, 0.5009986110391927}, "bn": {0.25, -0.6}},
		{"w": {0.999315126426852, -2.0013334173521447, 0.5012421792426345}, "bn": {0.18, -0.71}},
		{"w": {0.9988451249118753, -2.0016971390812817, 0.5005559136359677}, "bn": {0.26699999999999996, -0.859}},
	}},
	{"lars trust 0.1 no wd", func() Solver { return NewLARS(2.0, 0.9, 0, 0.1, nil) }, []stepWant{
		{"w": {0.8, -2.1, 0.9}, "bn": {0.23188245453629439, -0.5637649090725887}},
		{"w": {0.7493941928482772, -2.5781825785448316, 1.0012116143034457}, "bn": {0.15545458916982474, -0.5621299228309955}},
		{"w": {0.5506820009207221, -2.702212968253171, 0.632801170703533}, "bn": {0.19732945096755633, -0.597545082089413}},
	}},
	{"adam wd", func() Solver { return NewAdam(0.01, 0.9, 0.999, 1e-8, 0.1, nil) }, []stepWant{
		{"w": {0.9900000001666667, -2.0099999980000005, 0.5099999998947369}, "bn": {0.2900000007692307, -0.6900000003703703}},
		{"w": {0.9833118355673723, -2.0196624902813936, 0.5145763204468886}, "bn": {0.28040872434431857, -0.6915333359180522}},
		{"w": {0.9758370466703972, -2.014732564482075, 0.5139914960881128}, "bn": {0.28236811045220767, -0.6931759630603228}},
	}},
	{"adam noDecay excludes bn", func() Solver { return NewAdam(0.01, 0.9, 0.999, 1e-8, 0.1, noDecayBN) }, []stepWant{
		{"w": {0.9900000001666667, -2.0099999980000005, 0.5099999998947369}, "bn": {0.2900000009999999, -0.6900000005}},
		{"w": {0.9833118355673723, -2.0196624902813936, 0.5145763204468886}, "bn": {0.2806782057911871, -0.6936610356546037}},
		{"w": {0.9758370466703972, -2.014732564482075, 0.5139914960881128}, "bn": {0.2841504406730389, -0.6978175474963835}},
	}},
	{"adam betas 0.5 0.6 eps 1e-3 (bias correction visible)", func() Solver { return NewAdam(0.1, 0.5, 0.6, 1e-3, 0, nil) }, []stepWant{
		{"w": {0.9001996007984032, -2.099601593625498, 0.5999000999001}, "bn": {0.20099009900990097, -0.6004975124378109}},
		{"w": {0.8686765089658011, -2.199616980192867, 0.6314729554339226}, "bn": {0.11076210480165315, -0.6593008931900372}},
		{"w": {0.8092462471589563, -2.168861165686021, 0.5898040869781658}, "bn": {0.17532345199707072, -0.7167083113602913}},
	}},
}

func fixture(dt tensor.Dtype) []*fakeParam {
	return []*fakeParam{newParam("w", dt, w0["w"]), newParam("bn", dt, w0["bn"])}
}

func vgs(ps []*fakeParam) []gorgonia.ValueGrad {
	out := make([]gorgonia.ValueGrad, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

func TestUpdateRules(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		tol := 1e-12
		if dt == tensor.Float32 {
			tol = 2e-6
		}
		for _, tc := range ruleCases {
			t.Run(fmt.Sprintf("%s/%v", tc.name, dt), func(t *testing.T) {
				s := tc.new()
				ps := fixture(dt)
				for step, want := range tc.want {
					for _, p := range ps {
						setGrad(p, grads[step][p.name])
					}
					if err := s.Step(vgs(ps)); err != nil {
						t.Fatalf("Step %d: %v", step+1, err)
					}
					for _, p := range ps {
						got := values(p.w)
						for j := range got {
							if math.Abs(got[j]-want[p.name][j]) > tol*math.Max(1, math.Abs(want[p.name][j])) {
								t.Errorf("after step %d: %s[%d] = %.17g, want %.17g", step+1, p.name, j, got[j], want[p.name][j])
							}
						}
						for j, g := range values(p.g) {
							if g != 0 {
								t.Errorf("after step %d: grad %s[%d] = %g, want 0 (gradients must be zeroed)", step+1, p.name, j, g)
							}
						}
					}
				}
				if st := s.State(); st.Steps != 3 {
					t.Errorf("State().Steps = %d, want 3", st.Steps)
				}
			})
		}
	}
}

// A first Adam step moves every weight by about lr against the sign of its
// gradient, whatever the gradient's size: the bias correction at work.
func TestAdamFirstStepIsLR(t *testing.T) {
	p := newParam("w", tensor.Float64, []float64{1, 1, 1})
	setGrad(p, []float64{1e-4, -3, 250})
	s := NewAdam(0.01, 0.9, 0.999, 1e-12, 0, nil)
	if err := s.Step([]gorgonia.ValueGrad{p}); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.99, 1.01, 0.99}
	for j, got := range values(p.w) {
		if math.Abs(got-want[j]) > 1e-9 {
			t.Errorf("Adam step 1: w[%d] = %.12g, want %.12g", j, got, want[j])
		}
	}
}

func TestLARSZeroNorms(t *testing.T) {
	// "w" starts at zero (‖w‖ = 0: ratio 1, so a plain momentum step);
	// "z" has a zero gradient and no decay (‖g‖ = 0: ratio 1, no change).
	for _, tc := range []struct {
		name    string
		w, g    []float64
		want1   []float64 // after step 1
		want2   []float64 // after step 2 (same gradient again)
		comment string
	}{
		{"w", []float64{0, 0}, []float64{0.5, -1}, []float64{-0.25, 0.5}, []float64{-0.475125, 0.95025},
			"step 1: r = 1, v = 0.5·g; step 2: r = 0.001·‖w1‖/‖g‖ = 0.0005, v = 0.9·v + 0.5·0.0005·g"},
		{"z", []float64{1, -2}, []float64{0, 0}, []float64{1, -2}, []float64{1, -2}, "r = 1 and g = 0: nothing moves"},
	} {
		p := newParam(tc.name, tensor.Float64, tc.w)
		s := NewLARS(0.5, 0.9, 0, 0.001, nil)
		for step, want := range [][]float64{tc.want1, tc.want2} {
			setGrad(p, tc.g)
			if err := s.Step([]gorgonia.ValueGrad{p}); err != nil {
				t.Fatal(err)
			}
			for j, got := range values(p.w) {
				if math.Abs(got-want[j]) > 1e-12 {
					t.Errorf("LARS %s (%s) step %d: w[%d] = %.15g, want %.15g", tc.name, tc.comment, step+1, j, got, want[j])
				}
			}
		}
	}
	for _, tc := range []struct{ wn, gn, want float64 }{
		{0, 1, 1}, {1, 0, 1}, {0, 0, 1}, {2, 4, 0.0005},
	} {
		if got := larsRatio(tc.wn, tc.gn, 0.001); got != tc.want {
			t.Errorf("larsRatio(%g, %g, 0.001) = %g, want %g", tc.wn, tc.gn, got, tc.want)
		}
	}
	if got := NewLARS(1, 0.9, 0, 0, nil).Trust(); got != DefaultTrust {
		t.Errorf("NewLARS(trust 0).Trust() = %g, want %g", got, DefaultTrust)
	}
}

// A solver restored from a gob round trip of State takes exactly the steps
// of the solver that kept running.
func TestStateRoundTrip(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.new()
			pa := fixture(tensor.Float32)
			step := func(s Solver, ps []*fakeParam, k int) {
				for _, p := range ps {
					setGrad(p, grads[k][p.name])
				}
				if err := s.Step(vgs(ps)); err != nil {
					t.Fatalf("Step %d: %v", k+1, err)
				}
			}
			step(a, pa, 0)
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(a.State()); err != nil {
				t.Fatalf("gob encode: %v", err)
			}
			var st State
			if err := gob.NewDecoder(&buf).Decode(&st); err != nil {
				t.Fatalf("gob decode: %v", err)
			}
			b := tc.new()
			if err := b.SetState(&st); err != nil {
				t.Fatalf("SetState: %v", err)
			}
			pb := fixture(tensor.Float32)
			for i := range pb {
				pb[i].w = pa[i].w.Clone().(*tensor.Dense)
			}
			for k := 1; k < 3; k++ {
				step(a, pa, k)
				step(b, pb, k)
			}
			for i := range pa {
				ga, gb := values(pa[i].w), values(pb[i].w)
				for j := range ga {
					if ga[j] != gb[j] {
						t.Errorf("restored solver: %s[%d] = %v, want %v (as the uninterrupted one)", pa[i].name, j, gb[j], ga[j])
					}
				}
			}
			if a.State().Steps != b.State().Steps {
				t.Errorf("restored Steps = %d, want %d", b.State().Steps, a.State().Steps)
			}
		})
	}
}

// State returns a copy: stepping afterwards does not change it.
func TestStateIsACopy(t *testing.T) {
	s := NewSGD(0.1, 0.9, 0, nil)
	ps := fixture(tensor.Float64)
	setGrad(ps[0], []float64{1, 1, 1})
	if err := s.Step(vgs(ps)); err != nil {
		t.Fatal(err)
	}
	st := s.State()
	before := st.M[0][0]
	setGrad(ps[0], []float64{1, 1, 1})
	if err := s.Step(vgs(ps)); err != nil {
		t.Fatal(err)
	}
	if st.M[0][0] != before || st.Steps != 1 {
		t.Errorf("State() after another Step: M[0][0] = %g, Steps = %d; want %g, 1 (a copy)", st.M[0][0], st.Steps, before)
	}
}

func TestStepErrors(t *testing.T) {
	mk := func(names ...string) []gorgonia.ValueGrad {
		var out []gorgonia.ValueGrad
		for _, n := range names {
			out = append(out, newParam(n, tensor.Float64, []float64{1, 2}))
		}
		return out
	}
	first := func() *SGD {
		s := NewSGD(0.1, 0.9, 0, nil)
		if err := s.Step(mk("a", "b")); err != nil {
			t.Fatal(err)
		}
		return s
	}
	badDtype := &fakeParam{name: "a", w: dense(tensor.Float64, []float64{1, 2}), g: dense(tensor.Float32, []float64{1, 2})}
	ints := &fakeParam{name: "a", w: tensor.New(tensor.WithBacking([]int{1, 2})), g: tensor.New(tensor.WithBacking([]int{1, 2}))}
	short := &fakeParam{name: "b", w: dense(tensor.Float64, []float64{1, 2, 3}), g: dense(tensor.Float64, []float64{1, 2, 3})}
	for _, tc := range []struct {
		name  string
		s     Solver
		model []gorgonia.ValueGrad
		want  string
	}{
		{"renamed", first(), mk("a", "c"), `parameter 1 is "c", state has "b"`},
		{"fewer", first(), mk("a"), "step with 1 parameters, state has 2"},
		{"resized", first(), []gorgonia.ValueGrad{mk("a")[0], short}, `parameter "b" has 3 elements, state has 2`},
		{"dtype mismatch", NewAdam(0.1, 0.9, 0.999, 1e-8, 0, nil), []gorgonia.ValueGrad{badDtype}, "gradient is float32"},
		{"int tensor", NewLARS(0.1, 0.9, 0, 0.001, nil), []gorgonia.ValueGrad{ints}, "not supported"},
	} {
		w := tc.model[0].Value().(*tensor.Dense)
		_, isFloat := w.Data().([]float64)
		var before []float64
		if isFloat {
			before = values(w)
		}
		err := tc.s.Step(tc.model)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Step = %v, want an error containing %q", tc.name, err, tc.want)
			continue
		}
		if isFloat {
			for j, v := range values(w) {
				if v != before[j] {
					t.Errorf("%s: failed Step changed w[%d] from %g to %g", tc.name, j, before[j], v)
				}
			}
		}
	}
}

func TestSetStateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Solver
		st   *State
		want string
	}{
		{"nil", NewSGD(1, 0, 0, nil), nil, "nil state"},
		{"other solver", NewSGD(1, 0, 0, nil), &State{Solver: "adam"}, `state of a "adam" solver cannot be loaded into a "sgd" solver`},
		{"names vs slots", NewLARS(1, 0, 0, 0, nil), &State{Solver: "lars", Names: []string{"a"}, M: [][]float64{}}, "1 names and 0 momentum slices"},
		{"adam missing V", NewAdam(1, 0.9, 0.9, 1e-8, 0, nil), &State{Solver: "adam", Names: []string{"a"}, M: [][]float64{{1}}}, "1 first and 0 second moments"},
		{"sgd with V", NewSGD(1, 0, 0, nil), &State{Solver: "sgd", Names: []string{"a"}, M: [][]float64{{1}}, V: [][]float64{{1}}}, "second moments"},
		{"negative steps", NewSGD(1, 0, 0, nil), &State{Solver: "sgd", Steps: -1}, "-1 steps"},
	} {
		err := tc.s.SetState(tc.st)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: SetState = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// The state of a fresh solver loads into a fresh solver.
	if err := NewAdam(1, 0.9, 0.999, 1e-8, 0, nil).SetState(NewAdam(2, 0.9, 0.999, 1e-8, 0, nil).State()); err != nil {
		t.Errorf("SetState(fresh state) = %v, want nil", err)
	}
}

func TestLR(t *testing.T) {
	for _, s := range []Solver{NewSGD(0.1, 0, 0, nil), NewLARS(0.1, 0, 0, 0, nil), NewAdam(0.1, 0.9, 0.999, 1e-8, 0, nil)} {
		if got := s.LR(); got != 0.1 {
			t.Errorf("%T.LR() = %g, want 0.1", s, got)
		}
		s.SetLR(0.25)
		if got := s.LR(); got != 0.25 {
			t.Errorf("%T.SetLR(0.25); LR() = %g, want 0.25", s, got)
		}
	}
}

// On a real gorgonia graph, f(w) = Σ w², ∇f = 2w. SGD with lr 0.25 and no
// momentum halves w each step — only if the solver zeroes the gradient
// that gorgonia accumulates (otherwise step 2 sees 2·w1 + 2·w0 and w2 =
// −w0/4). Adam, unlike gorgonia's NewAdamW, changes the weights.
func TestGorgoniaGraph(t *testing.T) {
	build := func() (*gorgonia.Node, gorgonia.VM) {
		g := gorgonia.NewGraph()
		w := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("w"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, -2, 4}))))
		cost := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(w))))
		if _, err := gorgonia.Grad(cost, w); err != nil {
			t.Fatalf("Grad: %v", err)
		}
		return w, gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(w))
	}
	run := func(s Solver, steps int) []float64 {
		w, vm := build()
		defer vm.Close()
		for range steps {
			if err := vm.RunAll(); err != nil {
				t.Fatalf("RunAll: %v", err)
			}
			if err := s.Step([]gorgonia.ValueGrad{w}); err != nil {
				t.Fatalf("Step: %v", err)
			}
			vm.Reset()
		}
		gv, err := w.Grad()
		if err != nil {
			t.Fatal(err)
		}
		for j, g := range values(gv.(*tensor.Dense)) {
			if g != 0 {
				t.Errorf("%T: node gradient[%d] = %g after Step, want 0", s, j, g)
			}
		}
		return values(w.Value().(*tensor.Dense))
	}
	got := run(NewSGD(0.25, 0, 0, nil), 2)
	want := []float64{0.25, -0.5, 1}
	for j := range got {
		if got[j] != want[j] {
			t.Errorf("SGD on Σw² after 2 steps: w[%d] = %g, want %g", j, got[j], want[j])
		}
	}
	got = run(NewAdam(0.1, 0.9, 0.999, 1e-8, 0, nil), 1)
	want = []float64{0.9, -1.9, 3.9} // first Adam step: w − lr·sign(g)
	for j := range got {
		if math.Abs(got[j]-want[j]) > 1e-6 {
			t.Errorf("Adam on Σw² after 1 step: w[%d] = %g, want %g", j, got[j], want[j])
		}
	}
}

// Scalar tensors (Data() is not a slice) are updated through Get/Set.
func TestScalarParam(t *testing.T) {
	p := &fakeParam{name: "t", w: tensor.New(tensor.FromScalar(float32(2))), g: tensor.New(tensor.FromScalar(float32(0.5)))}
	if err := NewSGD(0.1, 0, 0, nil).Step([]gorgonia.ValueGrad{p}); err != nil {
		t.Fatal(err)
	}
	if got := p.w.Get(0).(float32); got != 1.95 {
		t.Errorf("SGD step on scalar 2 with grad 0.5, lr 0.1: w = %g, want 1.95", got)
	}
	if got := p.g.Get(0).(float32); got != 0 {
		t.Errorf("scalar gradient after Step = %g, want 0", got)
	}
}
