package knn

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// The hand-computed example: four training points in 2-D and the test
// point x = (1, 0). Their cosine similarities to x are 1, 0, 1/√2 and −1.
var (
	handTrain  = []float32{1, 0, 0, 1, 1, 1, -1, 0}
	handLabels = []int{0, 1, 1, 2}
	handTest   = []float32{1, 0}
)

func TestClassifyByHand(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want int
	}{
		// k = 2, τ = 1: neighbours 0 (sim 1, class 0) and 2 (sim 0.707,
		// class 1): score₀ = e¹ = 2.718 > score₁ = e^0.707 = 2.028.
		{"k=2 tau=1", Config{K: 2, Temperature: 1}, 0},
		// k = 3, τ = 1: neighbour 1 (sim 0, class 1) joins: score₁ =
		// 2.028 + e⁰ = 3.028 > 2.718.
		{"k=3 tau=1", Config{K: 3, Temperature: 1}, 1},
		// k = 3, τ = 0.1: score₀ = e¹⁰ = 22026 > score₁ = e^7.07 + 1 = 1177.
		{"k=3 tau=0.1", Config{K: 3, Temperature: 0.1}, 0},
		// k = 1: the nearest alone.
		{"k=1", Config{K: 1, Temperature: 1}, 0},
		// k larger than the training set: every point votes; τ = 10
		// flattens the weights: score₁ = e^0.0707 + e⁰ = 2.073 > score₀ =
		// e^0.1 = 1.105.
		{"k over n", Config{K: 50, Temperature: 10}, 1},
	} {
		pred, err := Classify(context.Background(), handTrain, handLabels, handTest, 2, 3, tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if pred[0] != tc.want {
			t.Errorf("%s: Classify = %d, want %d", tc.name, pred[0], tc.want)
		}
	}
}

// TestClassifyScale: features are compared by cosine, so scaling a row
// changes nothing.
func TestClassifyScale(t *testing.T) {
	scaled := []float32{5, 0, 0, 0.1, 3, 3, -2, 0}
	pred, err := Classify(context.Background(), scaled, handLabels, []float32{0.01, 0}, 2, 3, Config{K: 3, Temperature: 1})
	if err != nil || pred[0] != 1 {
		t.Errorf("Classify(scaled) = %v, %v; want [1] as unscaled", pred, err)
	}
}

// TestClassifyTies: neighbours at the same similarity are taken by the
// lower index; equal class scores go to the lower class.
func TestClassifyTies(t *testing.T) {
	train := []float32{0, 1, 0, 1, 1, 0}
	pred, err := Classify(context.Background(), train, []int{1, 0, 2}, []float32{0, 1}, 2, 3, Config{K: 1, Temperature: 1})
	if err != nil || pred[0] != 1 {
		t.Errorf("k=1 between equal neighbours of classes 1 (index 0) and 0 (index 1): %v, %v; want [1]", pred, err)
	}
	pred, err = Classify(context.Background(), train, []int{1, 0, 2}, []float32{0, 1}, 2, 3, Config{K: 2, Temperature: 1})
	if err != nil || pred[0] != 0 {
		t.Errorf("k=2, classes 1 and 0 with equal scores: %v, %v; want [0]", pred, err)
	}
}

// reference is the classifier written the slow, obvious way: every
// similarity, the k largest by repeated selection, the weighted vote.
func reference(train []float32, labels []int, test []float32, d, classes, k int, tau float64) []int {
	norm := func(x []float32) []float64 {
		s := 0.0
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = float64(v) / math.Sqrt(s)
		}
		return out
	}
	n := len(labels)
	var pred []int
	for r := 0; r < len(test)/d; r++ {
		x := norm(test[r*d : (r+1)*d])
		sims := make([]float64, n)
		for j := range n {
			y := norm(train[j*d : (j+1)*d])
			for t := range d {
				sims[j] += x[t] * y[t]
			}
		}
		taken := make([]bool, n)
		scores := make([]float64, classes)
		for range min(k, n) {
			best := -1
			for j := range n {
				if !taken[j] && (best < 0 || sims[j] > sims[best]) {
					best = j
				}
			}
			taken[best] = true
			scores[labels[best]] += math.Exp(sims[best] / tau)
		}
		arg := 0
		for c := range scores {
			if scores[c] > scores[arg] {
				arg = c
			}
		}
		pred = append(pred, arg)
	}
	return pred
}

func TestClassifyMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ nTrain, nTest, d, classes, k int }{
		{300, 120, 16, 10, 200},
		{50, 200, 8, 3, 7},
		{1000, 70, 64, 10, 200},
	} {
		train := make([]float32, tc.nTrain*tc.d)
		labels := make([]int, tc.nTrain)
		for i := range labels {
			labels[i] = rng.IntN(tc.classes)
			for t := range tc.d {
				// Clustered by class, so that the vote matters.
				train[i*tc.d+t] = float32(rng.NormFloat64() + float64((labels[i]+t)%tc.classes)/2)
			}
		}
		test := make([]float32, tc.nTest*tc.d)
		for i := range test {
			test[i] = float32(rng.NormFloat64() + float64(i%tc.classes)/2)
		}
		got, err := Classify(context.Background(), train, labels, test, tc.d, tc.classes, Config{K: tc.k, Temperature: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		want := reference(train, labels, test, tc.d, tc.classes, tc.k, 0.1)
		diff := 0
		for i := range want {
			if got[i] != want[i] {
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("%+v: %d of %d predictions differ from the brute-force reference", tc, diff, len(want))
		}
	}
}

func TestAccuracy(t *testing.T) {
	// The training points as test points: with k = 1 each finds itself.
	acc, err := Accuracy(context.Background(), handTrain, handLabels, handTrain, handLabels, 2, 3, Config{K: 1})
	if err != nil || acc != 1 {
		t.Errorf("Accuracy(train on itself, k=1) = %v, %v; want 1", acc, err)
	}
	acc, err = Accuracy(context.Background(), handTrain, handLabels, []float32{1, 0, 1, 0}, []int{0, 2}, 2, 3, Config{K: 2, Temperature: 1})
	if err != nil || acc != 0.5 {
		t.Errorf("Accuracy = %v, %v; want 0.5", acc, err)
	}
}

func TestClassifyRejects(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		train  []float32
		labels []int
		test   []float32
		d      int
		want   string
	}{
		{handTrain, handLabels, handTest, 0, "must be positive"},
		{handTrain, handLabels[:3], handTest, 2, "do not fit"},
		{handTrain, handLabels, []float32{1, 0, 1}, 2, "do not fit"},
		{nil, nil, handTest, 2, "no training features"},
		{handTrain, []int{0, 1, 3, 0}, handTest, 2, "label 3 of training row 2"},
	} {
		if _, err := Classify(ctx, tc.train, tc.labels, tc.test, tc.d, 3, Config{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Classify error = %v, want one containing %q", err, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Classify(cancelled, handTrain, handLabels, handTest, 2, 3, Config{}); err == nil {
		t.Error("Classify with a cancelled context: no error")
	}
}
