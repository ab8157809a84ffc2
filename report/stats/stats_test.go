package stats

import (
	"math"
	"testing"
)

// closeTo reports |a-b| <= tol, with NaN equal to NaN.
func closeTo(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	// Means and sample (n−1) standard deviations worked by hand:
	// {1,2,3,4}: squares about 2.5 sum to 5, 5/3 → √(5/3).
	tests := []struct {
		xs            []float64
		n             int
		mean, std, lo float64
		hi            float64
	}{
		{nil, 0, nan, nan, nan, nan},
		{[]float64{nan, math.Inf(1)}, 0, nan, nan, nan, nan},
		{[]float64{0.7}, 1, 0.7, nan, nan, nan},
		{[]float64{0.7, nan}, 1, 0.7, nan, nan, nan},
		{[]float64{0.80, 0.82, 0.81}, 3, 0.81, 0.01, 0.81 - 4.302652729911275*0.01/math.Sqrt(3), 0.81 + 4.302652729911275*0.01/math.Sqrt(3)},
		{[]float64{1, 2, 3, 4}, 4, 2.5, math.Sqrt(5.0 / 3), 2.5 - 3.182446305284263*math.Sqrt(5.0/3)/2, 2.5 + 3.182446305284263*math.Sqrt(5.0/3)/2},
		{[]float64{5, 5}, 2, 5, 0, 5, 5},
	}
	for _, tt := range tests {
		s := Summarize(tt.xs)
		if s.N != tt.n || !closeTo(s.Mean, tt.mean, 1e-12) || !closeTo(s.Std, tt.std, 1e-12) ||
			!closeTo(s.Lo, tt.lo, 1e-9) || !closeTo(s.Hi, tt.hi, 1e-9) {
			t.Errorf("Summarize(%v) = %+v, want n %d mean %v std %v interval [%v, %v]", tt.xs, s, tt.n, tt.mean, tt.std, tt.lo, tt.hi)
		}
	}
}

// tPDF is Student's t density with nu degrees of freedom, written out
// independently of gonum.
func tPDF(x, nu float64) float64 {
	lg1, _ := math.Lgamma((nu + 1) / 2)
	lg2, _ := math.Lgamma(nu / 2)
	return math.Exp(lg1-lg2) / math.Sqrt(nu*math.Pi) * math.Pow(1+x*x/nu, -(nu+1)/2)
}

// integrate is composite Simpson's rule on [a, b] with n (even) panels.
func integrate(f func(float64) float64, a, b float64, n int) float64 {
	h := (b - a) / float64(n)
	s := f(a) + f(b)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		s += w * f(a+float64(i)*h)
	}
	return s * h / 3
}

func TestTQuantile975(t *testing.T) {
	p := 0.975
	alpha := 4 * p * (1 - p)
	q4 := math.Cos(math.Acos(math.Sqrt(alpha))/3) / math.Sqrt(alpha)
	// Closed forms for ν = 1, 2, 4 (the Cauchy quantile and Hill's
	// formulas), and the three-decimal values of the standard table of
	// upper critical values of the t distribution (NIST/SEMATECH
	// e-Handbook of Statistical Methods, 1.4.2.7.1) for the others.
	tests := []struct {
		dof  int
		want float64
		tol  float64
	}{
		{1, math.Tan(math.Pi * (p - 0.5)), 1e-9},
		{2, (2*p - 1) / math.Sqrt(2*p*(1-p)), 1e-9},
		{4, 2 * math.Sqrt(q4-1), 1e-9},
		{3, 3.182, 5e-4},
		{9, 2.262, 5e-4},
		{29, 2.045, 5e-4},
		{100, 1.984, 5e-4},
	}
	for _, tt := range tests {
		got := TQuantile975(tt.dof)
		if !closeTo(got, tt.want, tt.tol) {
			t.Errorf("TQuantile975(%d) = %.9f, want %.9f", tt.dof, got, tt.want)
		}
		// The mass between −q and q is 0.95, by quadrature of the density.
		mass := integrate(func(x float64) float64 { return tPDF(x, float64(tt.dof)) }, -got, got, 20000)
		if !closeTo(mass, 0.95, 1e-7) {
			t.Errorf("∫ t%d density over ±TQuantile975(%d) = %.9f, want 0.95", tt.dof, tt.dof, mass)
		}
	}
}

func TestTQuantile975Panics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("TQuantile975(0) did not panic, want a panic (no interval from one value)")
		}
	}()
	TQuantile975(0)
}

func TestSignificant(t *testing.T) {
	s := func(n int, lo, hi float64) Summary { return Summary{N: n, Mean: (lo + hi) / 2, Lo: lo, Hi: hi} }
	tests := []struct {
		a, b Summary
		want bool
	}{
		{s(3, 0.70, 0.75), s(3, 0.80, 0.85), true},
		{s(3, 0.80, 0.85), s(3, 0.70, 0.75), true},
		{s(3, 0.70, 0.80), s(3, 0.79, 0.85), false}, // overlap
		{s(3, 0.70, 0.80), s(3, 0.80, 0.85), false}, // touching counts as overlap
		{s(1, 0.70, 0.70), s(3, 0.80, 0.85), false}, // one seed
		{s(3, 0.70, 0.75), Summary{N: 0}, false},
	}
	for _, tt := range tests {
		if got := Significant(tt.a, tt.b); got != tt.want {
			t.Errorf("Significant(%+v, %+v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		s                    Summary
		str, short, interval string
	}{
		{Summarize(nil), "—", "—", "n/a (n=0)"},
		{Summarize([]float64{0.8123}), "0.812 (n=1)", "0.812", "n/a (n=1)"},
		{Summarize([]float64{0.80, 0.82, 0.81}), "0.810 ± 0.010 (n=3)", "0.810 ± 0.010", "[0.785, 0.835]"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.str {
			t.Errorf("%+v.String() = %q, want %q", tt.s, got, tt.str)
		}
		if got := tt.s.Short(); got != tt.short {
			t.Errorf("%+v.Short() = %q, want %q", tt.s, got, tt.short)
		}
		if got := tt.s.Interval(); got != tt.interval {
			t.Errorf("%+v.Interval() = %q, want %q", tt.s, got, tt.interval)
		}
	}
}
