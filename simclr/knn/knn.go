package knn

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Defaults of the monitor, as InstDisc and solo-learn use them.
const (
	DefaultK           = 200
	DefaultTemperature = 0.1
)

// Config is the classifier's k and temperature τ; zero values mean the
// defaults.
type Config struct {
	K           int
	Temperature float64
}

// Classify predicts a class for each of the nTest rows of test ([nTest, d],
// row-major) from the nTrain rows of train with labels in [0, classes).
// k is min(K, nTrain). Ties among neighbours at the same similarity are
// broken by the lower training index, ties between class scores by the
// lower class, so the answer is unique. A zero feature vector has
// similarity 0 with everything.
func Classify(ctx context.Context, train []float32, labels []int, test []float32, d, classes int, cfg Config) ([]int, error) {
	if d < 1 || classes < 1 {
		return nil, fmt.Errorf("knn: feature width %d and classes %d must be positive", d, classes)
	}
	if len(train)%d != 0 || len(test)%d != 0 || len(train)/d != len(labels) {
		return nil, fmt.Errorf("knn: %d training values, %d labels and %d test values do not fit width %d", len(train), len(labels), len(test), d)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("knn: no training features")
	}
	for i, l := range labels {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("knn: label %d of training row %d is not in [0, %d)", l, i, classes)
		}
	}
	k := cfg.K
	if k <= 0 {
		k = DefaultK
	}
	k = min(k, len(labels))
	tau := cfg.Temperature
	if tau <= 0 {
		tau = DefaultTemperature
	}
	tr := normalize(train, d)
	te := normalize(test, d)
	nTest := len(test) / d
	pred := make([]int, nTest)

	// Rows are independent: split them over goroutines; each row's answer
	// is computed the same way whoever computes it.
	workers := min(runtime.GOMAXPROCS(0), max(1, nTest/64))
	var wg sync.WaitGroup
	per := (nTest + workers - 1) / workers
	for lo := 0; lo < nTest; lo += per {
		hi := min(lo+per, nTest)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := classifier{tr: tr, labels: labels, d: d, k: k, tau: tau,
				sims: make([]neighbour, len(labels)), scores: make([]float64, classes)}
			for i := lo; i < hi; i++ {
				if i%64 == 0 && ctx.Err() != nil {
					return
				}
				pred[i] = c.predict(te[i*d : (i+1)*d])
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("knn: %w", err)
	}
	return pred, nil
}

// Accuracy is the fraction of test rows Classify gets right.
func Accuracy(ctx context.Context, train []float32, trainLabels []int, test []float32, testLabels []int, d, classes int, cfg Config) (float64, error) {
	if len(test) != len(testLabels)*d {
		return 0, fmt.Errorf("knn: %d test values for %d labels of width %d", len(test), len(testLabels), d)
	}
	if len(testLabels) == 0 {
		return 0, fmt.Errorf("knn: no test features")
	}
	pred, err := Classify(ctx, train, trainLabels, test, d, classes, cfg)
	if err != nil {
		return 0, err
	}
	right := 0
	for i, p := range pred {
		if p == testLabels[i] {
			right++
		}
	}
	return float64(right) / float64(len(pred)), nil
}

type neighbour struct {
	sim   float64
	index int
}

type classifier struct {
	tr     []float64
	labels []int
	d, k   int
	tau    float64
	sims   []neighbour
	scores []float64
}

func (c *classifier) predict(x []float64) int {
	for j := range c.labels {
		row := c.tr[j*c.d : (j+1)*c.d]
		s := 0.0
		for t, v := range x {
			s += v * row[t]
		}
		c.sims[j] = neighbour{s, j}
	}
	// The k most similar first: a partial selection would do, but a sort
	// of 1000 values per test row costs little next to the dot products.
	slices.SortFunc(c.sims, func(a, b neighbour) int {
		if a.sim != b.sim {
			return cmp.Compare(b.sim, a.sim)
		}
		return cmp.Compare(a.index, b.index)
	})
	clear(c.scores)
	for _, n := range c.sims[:c.k] {
		c.scores[c.labels[n.index]] += math.Exp(n.sim / c.tau)
	}
	best := 0
	for cl, s := range c.scores {
		if s > c.scores[best] {
			best = cl
		}
	}
	return best
}

// normalize returns the rows of x scaled to unit L2 norm, in float64; a
// zero row stays zero.
func normalize(x []float32, d int) []float64 {
	out := make([]float64, len(x))
	for r := 0; r+d <= len(x); r += d {
		n := 0.0
		for _, v := range x[r : r+d] {
			n += float64(v) * float64(v)
		}
		if n == 0 {
			continue
		}
		inv := 1 / math.Sqrt(n)
		for t, v := range x[r : r+d] {
			out[r+t] = float64(v) * inv
		}
	}
	return out
}
