package logreg

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// randomProblem returns n rows of d standard-normal features and labels
// drawn uniformly from k classes.
func randomProblem(seed uint64, n, d, k int) ([]float32, []int) {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(3*r.NormFloat64() + 1)
	}
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(k)
	}
	return x, y
}

func objectiveFor(t *testing.T, x []float32, n, d int, y []int, k int, l2 float64) *objective {
	t.Helper()
	mean, std, err := standardisation(Matrix(x, d), n, d)
	if err != nil {
		t.Fatal(err)
	}
	return newObjective(Matrix(x, d), n, d, y, k, mean, std, l2)
}

// The analytic gradient matches central finite differences of f, with
// chunks and blocks small enough that rows are split over several blocks
// and a last, partial chunk.
func TestObjectiveGradientFiniteDifferences(t *testing.T) {
	const n, d, k = 37, 5, 4
	x, y := randomProblem(1, n, d, k)
	for _, l2 := range []float64{0, 0.3} {
		p := objectiveFor(t, x, n, d, y, k, l2)
		p.chunk = 4
		p.setBlocks(12) // 4 blocks of 3 chunks, the last one 1 row
		r := rand.New(rand.NewPCG(3, 4))
		theta := make([]float64, d*k+k)
		for i := range theta {
			theta[i] = 0.5 * r.NormFloat64()
		}
		_, grad := p.eval(theta)
		const h = 1e-6
		for i := range theta {
			tp := append([]float64(nil), theta...)
			tm := append([]float64(nil), theta...)
			tp[i] += h
			tm[i] -= h
			fp, _ := p.eval(tp)
			fm, _ := p.eval(tm)
			fd := (fp - fm) / (2 * h)
			if math.Abs(grad[i]-fd) > 1e-7*(1+math.Abs(fd)) {
				t.Errorf("L2=%g: ∂f/∂θ[%d] = %.10g, finite difference %.10g", l2, i, grad[i], fd)
			}
		}
		// The same evaluation with one block and one chunk.
		q := objectiveFor(t, x, n, d, y, k, l2)
		f1, g1 := p.eval(theta)
		f2, g2 := q.eval(theta)
		if math.Abs(f1-f2) > 1e-12 {
			t.Errorf("L2=%g: f with 4 blocks = %.15g, with 1 block %.15g", l2, f1, f2)
		}
		for i := range g1 {
			if math.Abs(g1[i]-g2[i]) > 1e-12 {
				t.Errorf("L2=%g: grad[%d] with 4 blocks = %.15g, with 1 block %.15g", l2, i, g1[i], g2[i])
			}
		}
	}
}

// At θ = 0 every class has probability 1/k: f = log k and ∂f/∂b_c =
// 1/k − (fraction of rows labelled c).
func TestObjectiveAtZero(t *testing.T) {
	const n, d, k = 10, 3, 4
	x, _ := randomProblem(5, n, d, k)
	y := []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 3}
	p := objectiveFor(t, x, n, d, y, k, 0.5)
	f, grad := p.eval(make([]float64, d*k+k))
	if math.Abs(f-math.Log(k)) > 1e-15 {
		t.Errorf("f(0) = %.17g, want log 4 = %.17g", f, math.Log(k))
	}
	for c, frac := range []float64{0.4, 0.3, 0.2, 0.1} {
		if want := 0.25 - frac; math.Abs(grad[d*k+c]-want) > 1e-15 {
			t.Errorf("∂f/∂b[%d] at 0 = %g, want %g", c, grad[d*k+c], want)
		}
	}
}

func TestStandardisation(t *testing.T) {
	// Feature 0: 1, 2, 3 (mean 2, population std √(2/3)); feature 1
	// constant 7 (std floored to StdFloor).
	x := []float32{1, 7, 2, 7, 3, 7}
	mean, std, err := standardisation(Matrix(x, 2), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if mean[0] != 2 || mean[1] != 7 {
		t.Errorf("standardisation mean = %v, want [2 7]", mean)
	}
	if math.Abs(std[0]-math.Sqrt(2.0/3)) > 1e-15 || std[1] != StdFloor {
		t.Errorf("standardisation std = %v, want [%g %g]", std, math.Sqrt(2.0/3), StdFloor)
	}
	// A constant training feature does not upset training, and a test row
	// where it differs still gets finite probabilities.
	m, err := Train(context.Background(), x, 3, 2, []int{0, 0, 1}, 2, Config{L2: 0.01})
	if err != nil {
		t.Fatalf("Train with a constant feature: %v", err)
	}
	for i, p := range m.Probs([]float32{2.5, 7.5, 1, 7}, 2) {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			t.Errorf("Probs with a constant feature off its training value: p[%d] = %g, want finite", i, p)
		}
	}
	if w := m.W[1*2+0]; w != 0 {
		t.Errorf("weight of a constant feature = %g, want 0 (its standardised value is 0 on every training row)", w)
	}
}

// Labels given by a linear rule are fitted exactly.
func TestSeparable(t *testing.T) {
	const n, d, k = 400, 10, 4
	x, _ := randomProblem(7, n, d, k)
	r := rand.New(rand.NewPCG(8, 9))
	a := make([]float64, d*k)
	for i := range a {
		a[i] = r.NormFloat64()
	}
	y := make([]int, n)
	for i := range n {
		best := math.Inf(-1)
		for c := range k {
			s := 0.0
			for j := range d {
				s += float64(x[i*d+j]) * a[j*k+c]
			}
			if s > best {
				best, y[i] = s, c
			}
		}
	}
	m, err := Train(context.Background(), x, n, d, y, k, Config{L2: 1e-6, Epochs: 300})
	if err != nil {
		t.Fatal(err)
	}
	pred := m.Predict(x, n)
	wrong := 0
	for i := range pred {
		if pred[i] != y[i] {
			wrong++
		}
	}
	if wrong != 0 {
		t.Errorf("Train on linearly separable data: %d of %d training rows wrong, want 0 (loss %g, status %s)", wrong, n, m.Loss, m.Status)
	}
}

// With λ > 0 the objective is strongly convex; L-BFGS must reach a point
// where the gradient, recomputed independently, is small.
func TestConvergence(t *testing.T) {
	const n, d, k = 300, 8, 3
	x, y := randomProblem(11, n, d, k)
	m, err := Train(context.Background(), x, n, d, y, k, Config{L2: 0.1, Epochs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	p := objectiveFor(t, x, n, d, y, k, 0.1)
	theta := append(append([]float64(nil), m.W...), m.B...)
	f, grad := p.eval(theta)
	if g := maxAbs(grad); g > 1e-5 {
		t.Errorf("max |∇f| at the returned solution = %g, want <= 1e-5 (status %s, %d iterations)", g, m.Status, m.Iterations)
	}
	if math.Abs(f-m.Loss) > 1e-12 || math.Abs(maxAbs(grad)-m.GradNorm) > 1e-12 {
		t.Errorf("Model.Loss, GradNorm = %g, %g; recomputed %g, %g", m.Loss, m.GradNorm, f, maxAbs(grad))
	}
	// The minimum is below f at nearby points.
	r := rand.New(rand.NewPCG(1, 1))
	for range 5 {
		q := append([]float64(nil), theta...)
		for i := range q {
			q[i] += 1e-3 * r.NormFloat64()
		}
		if fq, _ := p.eval(q); fq < f {
			t.Errorf("f at a perturbed point = %.12g < f at the solution %.12g", fq, f)
		}
	}
}

// The same data give bit-identical weights, on one core or two.
func TestDeterminism(t *testing.T) {
	const n, d, k = 3000, 12, 5 // 3 blocks
	x, y := randomProblem(13, n, d, k)
	run := func(procs int) *Model {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		m, err := Train(context.Background(), x, n, d, y, k, Config{L2: 1e-3, Epochs: 30})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b, c := run(2), run(2), run(1)
	for _, o := range []struct {
		name string
		m    *Model
	}{{"second run", b}, {"GOMAXPROCS=1", c}} {
		for i := range a.W {
			if a.W[i] != o.m.W[i] {
				t.Fatalf("%s: W[%d] = %.17g, first run %.17g", o.name, i, o.m.W[i], a.W[i])
			}
		}
		for i := range a.B {
			if a.B[i] != o.m.B[i] {
				t.Fatalf("%s: B[%d] = %.17g, first run %.17g", o.name, i, o.m.B[i], a.B[i])
			}
		}
	}
}

func TestTrainErrors(t *testing.T) {
	x, y := randomProblem(1, 4, 2, 3)
	nan := append([]float32(nil), x...)
	nan[5] = float32(math.NaN())
	inf := append([]float32(nil), x...)
	inf[0] = float32(math.Inf(-1))
	for _, tc := range []struct {
		name    string
		x       []float32
		n, d    int
		y       []int
		classes int
		cfg     Config
		want    string
	}{
		{"n=0", nil, 0, 2, nil, 3, Config{}, "no training rows"},
		{"d=0", nil, 4, 0, y, 3, Config{}, "no features"},
		{"no classes", x, 4, 2, y, 0, Config{}, "0 classes"},
		{"short x", x[:7], 4, 2, y, 3, Config{}, "len(x) = 7, want n·d = 4·2 = 8"},
		{"short y", x, 4, 2, y[:3], 3, Config{}, "3 labels for 4 rows"},
		{"label too big", x, 4, 2, []int{0, 1, 3, 2}, 3, Config{}, "label 3 of row 2 out of range [0, 3)"},
		{"negative label", x, 4, 2, []int{0, -1, 1, 2}, 3, Config{}, "label -1 of row 1 out of range"},
		{"NaN feature", nan, 4, 2, y, 3, Config{}, "feature 1 of row 2 is NaN"},
		{"Inf feature", inf, 4, 2, y, 3, Config{}, "feature 0 of row 0 is -Inf"},
		{"negative L2", x, 4, 2, y, 3, Config{L2: -1}, "L2 = -1"},
		{"NaN L2", x, 4, 2, y, 3, Config{L2: math.NaN()}, "L2 = NaN"},
		{"negative epochs", x, 4, 2, y, 3, Config{Epochs: -2}, "epochs = -2"},
	} {
		m, err := Train(context.Background(), tc.x, tc.n, tc.d, tc.y, tc.classes, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Train = %v, %v; want an error containing %q", tc.name, m, err, tc.want)
		}
	}
}

func TestCancel(t *testing.T) {
	x, y := randomProblem(1, 500, 20, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, x, 500, 20, y, 3, Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Train(cancelled ctx) error = %v, want context.Canceled", err)
	}
	// Cancelled during training: it stops at the next evaluation.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	evals := 0
	_, err := train(ctx, Matrix(x, 20), 500, 20, y, 3, Config{L2: 1e-6, Epochs: 1000}, func() {
		evals++
		if evals == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Train cancelled at evaluation 3: error = %v, want context.Canceled", err)
	}
	if evals > 4 {
		t.Errorf("Train cancelled at evaluation 3 ran %d evaluations, want <= 4", evals)
	}
}

func TestPredictAndProbs(t *testing.T) {
	const n, d, k = 200, 6, 3
	x, y := randomProblem(17, n, d, k)
	m, err := Train(context.Background(), x, n, d, y, k, Config{L2: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	pred := m.Predict(x, n)
	probs := m.Probs(x, n)
	if len(pred) != n || len(probs) != n*k {
		t.Fatalf("Predict, Probs lengths = %d, %d; want %d, %d", len(pred), len(probs), n, n*k)
	}
	for i := range n {
		row := probs[i*k : (i+1)*k]
		sum, best := 0.0, 0
		for c, p := range row {
			sum += p
			if p > row[best] {
				best = c
			}
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("Probs row %d sums to %.15g, want 1", i, sum)
		}
		if best != pred[i] {
			t.Errorf("Predict row %d = %d, argmax Probs = %d", i, pred[i], best)
		}
	}
	if got := m.Predict(nil, 0); len(got) != 0 {
		t.Errorf("Predict(nil, 0) = %v, want empty", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "logreg: Predict: len(x) = 5, want n·D = 1·6") {
			t.Errorf("Predict(5 values, n=1) panic = %v, want a logreg shape panic", r)
		}
	}()
	m.Predict(x[:5], 1)
}

// One class: nothing to learn, every row predicted 0.
func TestOneClass(t *testing.T) {
	x, _ := randomProblem(3, 20, 3, 1)
	y := make([]int, 20)
	m, err := Train(context.Background(), x, 20, 3, y, 1, Config{L2: 0.1})
	if err != nil {
		t.Fatalf("Train(one class) error: %v", err)
	}
	for i, p := range m.Predict(x, 20) {
		if p != 0 {
			t.Errorf("Predict row %d = %d, want 0", i, p)
		}
	}
	if m.Loss != 0 {
		t.Errorf("Train(one class).Loss = %g, want 0", m.Loss)
	}
}

// TrainRows on rows read a block at a time into the caller's buffer fits
// the model Train fits to the same matrix, bit for bit, on one core or
// two, and PredictRows predicts as Predict.
func TestTrainRowsEqualsTrain(t *testing.T) {
	const n, d, k = 2100, 9, 4 // 3 blocks, the last chunk partial
	x, y := randomProblem(29, n, d, k)
	cfg := Config{L2: 1e-3, Epochs: 30}
	want, err := Train(context.Background(), x, n, d, y, k, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int64
	rows := func(lo, hi int, buf []float32) []float32 {
		if lo < 0 || hi > n || lo >= hi || len(buf) != (hi-lo)*d {
			t.Errorf("rows(%d, %d, %d values): want 0 <= lo < hi <= %d and %d values", lo, hi, len(buf), n, (hi-lo)*d)
			return x[:0]
		}
		reads.Add(int64(hi - lo))
		copy(buf, x[lo*d:hi*d])
		return buf
	}
	for _, procs := range []int{2, 1} {
		old := runtime.GOMAXPROCS(procs)
		got, err := TrainRows(context.Background(), rows, n, d, y, k, cfg)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatalf("GOMAXPROCS=%d: TrainRows: %v", procs, err)
		}
		if !slices.Equal(got.W, want.W) || !slices.Equal(got.B, want.B) || !slices.Equal(got.Mean, want.Mean) ||
			!slices.Equal(got.Std, want.Std) || got.Loss != want.Loss || got.Iterations != want.Iterations {
			t.Errorf("GOMAXPROCS=%d: TrainRows fitted loss %.17g in %d iterations, Train %.17g in %d (or other weights)",
				procs, got.Loss, got.Iterations, want.Loss, want.Iterations)
		}
		// Two passes for the standardisation, then one an evaluation.
		if r, w := reads.Swap(0), int64(n*(2+got.Evaluations)); r != w {
			t.Errorf("GOMAXPROCS=%d: TrainRows read %d rows, want %d (2 + %d evaluations of %d rows)", procs, r, w, got.Evaluations, n)
		}
	}
	if got, w := want.PredictRows(rows, n), want.Predict(x, n); !slices.Equal(got, w) {
		t.Error("PredictRows differs from Predict on the same rows")
	}
	bad := slices.Clone(x)
	bad[1500*d+2] = float32(math.NaN())
	if _, err := TrainRows(context.Background(), Matrix(bad, d), n, d, y, k, cfg); err == nil || !strings.Contains(err.Error(), "feature 2 of row 1500 is NaN") {
		t.Errorf("TrainRows with a NaN in row 1500: error %v, want it named", err)
	}
}
