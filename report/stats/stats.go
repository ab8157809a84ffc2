package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Summary describes a sample: its size, mean, sample standard deviation
// and 95% interval. Std, Lo and Hi are NaN when N < 2; Mean is NaN when
// N = 0.
type Summary struct {
	N      int
	Mean   float64
	Std    float64
	Lo, Hi float64 // 95% Student's t interval of the mean
}

// Summarize returns the Summary of the finite values of xs (NaN and ±Inf,
// e.g. the F1 of a diverged run, are left out and not counted in N).
func Summarize(xs []float64) Summary {
	finite := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			finite = append(finite, x)
		}
	}
	s := Summary{N: len(finite), Mean: math.NaN(), Std: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	switch s.N {
	case 0:
		return s
	case 1:
		s.Mean = finite[0]
		return s
	}
	s.Mean, s.Std = stat.MeanStdDev(finite, nil)
	half := TQuantile975(s.N-1) * s.Std / math.Sqrt(float64(s.N))
	s.Lo, s.Hi = s.Mean-half, s.Mean+half
	return s
}

// TQuantile975 returns the 0.975 quantile of Student's t distribution with
// dof degrees of freedom: the factor of a two-sided 95% interval. It
// panics if dof < 1.
func TQuantile975(dof int) float64 {
	if dof < 1 {
		panic(fmt.Sprintf("stats: t quantile with %d degrees of freedom", dof))
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(dof)}.Quantile(0.975)
}

// Significant reports whether a and b differ significantly: both have at
// least two values and their 95% intervals do not overlap.
func Significant(a, b Summary) bool {
	if a.N < 2 || b.N < 2 {
		return false
	}
	return a.Hi < b.Lo || b.Hi < a.Lo
}

// String formats the summary as the report's tables do: "0.812 ± 0.011
// (n=3)", "0.812 (n=1)", or "—" when there is no value.
func (s Summary) String() string {
	switch {
	case s.N == 0:
		return "—"
	case s.N == 1:
		return fmt.Sprintf("%.3f (n=1)", s.Mean)
	}
	return fmt.Sprintf("%.3f ± %.3f (n=%d)", s.Mean, s.Std, s.N)
}

// Short formats the mean and std without n: "0.812 ± 0.011", "0.812" or
// "—".
func (s Summary) Short() string {
	switch {
	case s.N == 0:
		return "—"
	case s.N == 1:
		return fmt.Sprintf("%.3f", s.Mean)
	}
	return fmt.Sprintf("%.3f ± %.3f", s.Mean, s.Std)
}

// Interval formats the 95% interval, "[0.785, 0.839]", or "n/a (n=1)".
func (s Summary) Interval() string {
	if s.N < 2 {
		return fmt.Sprintf("n/a (n=%d)", s.N)
	}
	return fmt.Sprintf("[%.3f, %.3f]", s.Lo, s.Hi)
}
