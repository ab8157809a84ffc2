package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// idxBytes encodes an unsigned-byte IDX file with the given dimensions.
func idxBytes(dims []int, payload []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(payload)
	return b.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mnistFixture is a tiny IDX dataset: n train and m test images of h×w,
// pixel j of image i = (i*7 + j*13) mod 256, label i mod 10.
type mnistFixture struct {
	n, m, h, w int
	gz         bool
}

func (f mnistFixture) pixels(n int) []byte {
	b := make([]byte, n*f.h*f.w)
	for i := range n {
		for j := range f.h * f.w {
			b[i*f.h*f.w+j] = byte((i*7 + j*13) % 256)
		}
	}
	return b
}

func (f mnistFixture) labels(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 10)
	}
	return b
}

// write creates the four IDX files in dir.
func (f mnistFixture) write(t testing.TB, dir string) {
	t.Helper()
	put := func(name string, b []byte) {
		if f.gz {
			writeFile(t, filepath.Join(dir, name+".gz"), gzipBytes(t, b))
		} else {
			writeFile(t, filepath.Join(dir, name), b)
		}
	}
	put("train-images-idx3-ubyte", idxBytes([]int{f.n, f.h, f.w}, f.pixels(f.n)))
	put("train-labels-idx1-ubyte", idxBytes([]int{f.n}, f.labels(f.n)))
	put("t10k-images-idx3-ubyte", idxBytes([]int{f.m, f.h, f.w}, f.pixels(f.m)))
	put("t10k-labels-idx1-ubyte", idxBytes([]int{f.m}, f.labels(f.m)))
}

// cifarRecords encodes n CIFAR-10 records: label i mod 10, pixel j =
// (i + 3j) mod 256.
func cifarRecords(n, first int) []byte {
	b := make([]byte, 0, n*cifarRecord)
	for i := first; i < first+n; i++ {
		b = append(b, byte(i%10))
		for j := range cifarPixels {
			b = append(b, byte((i+3*j)%256))
		}
	}
	return b
}

// writeCIFAR creates the six batch files in dir, per records each.
func writeCIFAR(t testing.TB, dir string, per int) {
	t.Helper()
	for k, name := range cifarTrainFiles {
		writeFile(t, filepath.Join(dir, name), cifarRecords(per, k*per))
	}
	writeFile(t, filepath.Join(dir, "test_batch.bin"), cifarRecords(per, 1000))
}

func near(a, b, tol float32) bool {
	d := a - b
	return d <= tol && d >= -tol
}
