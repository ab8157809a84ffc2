package logreg

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"testing"
)

// blobs returns n rows of d features in k classes, correlated like
// image pixels: a class-dependent mean (entries of size spread), plus
// noise from 16 shared latent factors, plus a little independent noise.
// A fraction flip of the labels is then replaced by random ones. The
// correlation makes the problem ill-conditioned, as raw pixels are.
func blobs(seed uint64, n, d, k int, spread, flip float64) ([]float32, []int) {
	const factors = 16
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = spread * r.NormFloat64()
	}
	loadings := make([]float64, factors*d)
	for i := range loadings {
		loadings[i] = r.NormFloat64()
	}
	x := make([]float32, n*d)
	y := make([]int, n)
	z := make([]float64, factors)
	for i := range n {
		c := i % k
		y[i] = c
		for f := range z {
			z[f] = r.NormFloat64()
		}
		for j := range d {
			v := centres[c*d+j] + 0.1*r.NormFloat64()
			for f, zf := range z {
				v += zf * loadings[f*d+j]
			}
			x[i*d+j] = float32(v)
		}
		if r.Float64() < flip {
			y[i] = r.IntN(k)
		}
	}
	return x, y
}

func benchTrain(b *testing.B, n, d int) {
	x, y := blobs(1, n, d, 10, 0.1, 0.2)
	b.ReportAllocs()
	for b.Loop() {
		m, err := Train(context.Background(), x, n, d, y, 10, Config{L2: 1e-4})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Evaluations), "evals/op")
	}
}

// BenchmarkTrain10000x784 is the probe on raw-pixel-sized inputs with the
// default cap of 100 L-BFGS iterations (20% noisy labels keep it from
// converging early, as on real data).
func BenchmarkTrain10000x784(b *testing.B) { benchTrain(b, 10000, 784) }

// BenchmarkTrain10000x64 is the probe on encoder-feature-sized inputs.
func BenchmarkTrain10000x64(b *testing.B) { benchTrain(b, 10000, 64) }

// BenchmarkTrainFashionMNIST trains on the 60000 raw-pixel training
// images of Fashion-MNIST (Debian's dataset-fashion-mnist, `make data`)
// and reports test accuracy; about 0.84 is expected of logistic
// regression on raw pixels. It is skipped where the files are absent.
func BenchmarkTrainFashionMNIST(b *testing.B) {
	const dir = "/usr/share/datasets/fashion-mnist/"
	xtr, ytr, err := readFashion(dir+"train-images-idx3-ubyte.gz", dir+"train-labels-idx1-ubyte.gz")
	if errors.Is(err, fs.ErrNotExist) {
		b.Skipf("fashion-mnist not installed: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	xte, yte, err := readFashion(dir+"t10k-images-idx3-ubyte.gz", dir+"t10k-labels-idx1-ubyte.gz")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m, err := Train(context.Background(), xtr, len(ytr), 784, ytr, 10, Config{L2: 1e-4})
		if err != nil {
			b.Fatal(err)
		}
		pred := m.Predict(xte, len(yte))
		correct := 0
		for i, p := range pred {
			if p == yte[i] {
				correct++
			}
		}
		b.ReportMetric(float64(correct)/float64(len(yte)), "test-acc")
		b.ReportMetric(float64(m.Evaluations), "evals/op")
	}
}

// readFashion reads gzipped IDX images (as pixels/255) and labels.
func readFashion(images, labels string) ([]float32, []int, error) {
	read := func(path string, header int) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		b, err := io.ReadAll(z)
		if err != nil || len(b) < header {
			return nil, fmt.Errorf("%s: short or unreadable: %v", path, err)
		}
		return b[header:], nil
	}
	px, err := read(images, 16)
	if err != nil {
		return nil, nil, err
	}
	lb, err := read(labels, 8)
	if err != nil {
		return nil, nil, err
	}
	if len(px) != len(lb)*784 {
		return nil, nil, fmt.Errorf("%s: %d pixels for %d labels", images, len(px), len(lb))
	}
	x := make([]float32, len(px))
	for i, v := range px {
		x[i] = float32(v) / 255
	}
	y := make([]int, len(lb))
	for i, v := range lb {
		y[i] = int(v)
	}
	return x, y, nil
}
