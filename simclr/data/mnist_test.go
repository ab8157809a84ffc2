package data

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestLoadMNISTFixture(t *testing.T) {
	for _, gz := range []bool{false, true} {
		fix := mnistFixture{n: 12, m: 5, h: 4, w: 3, gz: gz}
		dir := t.TempDir()
		fix.write(t, dir)
		train, test, err := Load(Spec{Name: "mnist", Path: dir})
		if err != nil {
			t.Fatalf("Load(mnist, gz=%v) error: %v", gz, err)
		}
		for _, c := range []struct {
			name string
			s    *Set
			n    int
		}{{"train", train, 12}, {"test", test, 5}} {
			s := c.s
			if s.N != c.n || s.C != 1 || s.H != 4 || s.W != 3 || len(s.Images) != c.n*12 || len(s.Labels) != c.n {
				t.Fatalf("Load(mnist, gz=%v) %s: N,C,H,W = %d,%d,%d,%d (%d pixels, %d labels), want %d,1,4,3",
					gz, c.name, s.N, s.C, s.H, s.W, len(s.Images), len(s.Labels), c.n)
			}
			px := fix.pixels(c.n)
			for i, v := range s.Images {
				if want := float32(px[i]) / 255; v != want {
					t.Fatalf("Load(mnist, gz=%v) %s pixel %d = %v, want %v", gz, c.name, i, v, want)
				}
			}
			for i, l := range s.Labels {
				if l != i%10 {
					t.Fatalf("Load(mnist, gz=%v) %s label %d = %d, want %d", gz, c.name, i, l, i%10)
				}
			}
			if !slices.Equal(s.Classes, MNISTClasses) {
				t.Errorf("Load(mnist) classes = %v, want %v", s.Classes, MNISTClasses)
			}
		}
		// Lazy: the same sets, rendered from the 8-bit pixels on demand.
		lazyTrain, lazyTest, err := Load(Spec{Name: "mnist", Path: dir, Lazy: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ lazy, want *Set }{{lazyTrain, train}, {lazyTest, test}} {
			if !c.lazy.Lazy() || c.lazy.Checksum() != c.want.Checksum() ||
				!slices.Equal(c.lazy.Materialize().Images, c.want.Images) || !slices.Equal(c.lazy.Image(3), c.want.Image(3)) {
				t.Errorf("Load(mnist, Lazy) differs from Load(mnist): lazy %v, same checksum %v", c.lazy.Lazy(), c.lazy.Checksum() == c.want.Checksum())
			}
		}
	}
}

func TestLoadFashionMNISTFixture(t *testing.T) {
	dir := t.TempDir()
	mnistFixture{n: 10, m: 10, h: 2, w: 2, gz: true}.write(t, dir)
	train, _, err := Load(Spec{Name: "fashion-mnist", Path: dir})
	if err != nil {
		t.Fatalf("Load(fashion-mnist) error: %v", err)
	}
	if !slices.Equal(train.Classes, FashionMNISTClasses) || train.Classes[9] != "Ankle boot" {
		t.Errorf("Load(fashion-mnist) classes = %q, want %q", train.Classes, FashionMNISTClasses)
	}
	// ImageSize resizes the IDX datasets too.
	r, _, err := Load(Spec{Name: "fashion-mnist", Path: dir, ImageSize: 5})
	if err != nil {
		t.Fatalf("Load(fashion-mnist, ImageSize 5) error: %v", err)
	}
	if r.H != 5 || r.W != 5 || len(r.Images) != 10*25 || !slices.Equal(r.Labels, train.Labels) {
		t.Errorf("Load(fashion-mnist, ImageSize 5) = %d×%d, %d pixels, want 5×5, 250 pixels and the same labels", r.H, r.W, len(r.Images))
	}
}

// TestFashionMNISTInstalled checks the real data when Debian's package is
// installed (it is not needed by the other tests).
func TestFashionMNISTInstalled(t *testing.T) {
	if _, err := os.Stat(filepath.Join(DefaultFashionMNISTPath, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed in %s (make data): %v", DefaultFashionMNISTPath, err)
	}
	train, test, err := Load(Spec{Name: "fashion-mnist"})
	if err != nil {
		t.Fatalf("Load(fashion-mnist) from %s error: %v", DefaultFashionMNISTPath, err)
	}
	if train.N != 60000 || test.N != 10000 || train.C != 1 || train.H != 28 || train.W != 28 {
		t.Fatalf("Load(fashion-mnist) = %d train, %d test of %d×%d×%d, want 60000, 10000 of 1×28×28", train.N, test.N, train.C, train.H, train.W)
	}
	for _, s := range []*Set{train, test} {
		counts := make([]int, 10)
		for _, l := range s.Labels {
			counts[l]++
		}
		for k, c := range counts {
			if c != s.N/10 {
				t.Errorf("Load(fashion-mnist) class %d has %d of %d images, want %d (balanced)", k, c, s.N, s.N/10)
			}
		}
	}
	if lo, hi := slices.Min(train.Images), slices.Max(train.Images); lo != 0 || hi != 1 {
		t.Errorf("Load(fashion-mnist) pixel range = [%v, %v], want [0, 1]", lo, hi)
	}
}

func TestLoadMNISTErrors(t *testing.T) {
	good := mnistFixture{n: 4, m: 2, h: 2, w: 2}
	tests := []struct {
		name   string
		file   string // train file to replace
		data   []byte // its new content; nil removes it
		want   []string
		notExi bool
	}{
		{"missing images", "train-images-idx3-ubyte", nil, []string{"train-images-idx3-ubyte", "make data", "zalandoresearch/fashion-mnist"}, true},
		{"missing labels", "train-labels-idx1-ubyte", nil, []string{"train-labels-idx1-ubyte", "make data"}, true},
		{"wrong magic", "train-images-idx3-ubyte", append([]byte{0x50, 0x4b, 3, 4}, make([]byte, 28)...), []string{"train-images-idx3-ubyte", "not an IDX file"}, false},
		{"wrong type", "train-images-idx3-ubyte", append([]byte{0, 0, 0x0d, 3}, idxBytes([]int{4, 2, 2}, make([]byte, 16))[4:]...), []string{"train-images-idx3-ubyte", "0x0d"}, false},
		{"zero dimensions", "train-images-idx3-ubyte", []byte{0, 0, 8, 0}, []string{"train-images-idx3-ubyte", "0 dimensions"}, false},
		{"five dimensions", "train-images-idx3-ubyte", idxBytes([]int{1, 1, 1, 1, 1}, []byte{0}), []string{"5 dimensions"}, false},
		{"truncated header", "train-images-idx3-ubyte", []byte{0, 0, 8, 3, 0, 0}, []string{"train-images-idx3-ubyte", "unexpected EOF"}, false},
		{"empty file", "train-labels-idx1-ubyte", []byte{}, []string{"train-labels-idx1-ubyte", "unexpected EOF"}, false},
		{"truncated data", "train-images-idx3-ubyte", idxBytes([]int{4, 2, 2}, make([]byte, 15)), []string{"train-images-idx3-ubyte", "truncated"}, false},
		{"truncated gzip", "train-images-idx3-ubyte", gzipBytes(t, idxBytes([]int{4, 2, 2}, make([]byte, 16)))[:30], []string{"train-images-idx3-ubyte", "unexpected EOF"}, false},
		{"trailing data", "train-images-idx3-ubyte", idxBytes([]int{4, 2, 2}, make([]byte, 17)), []string{"train-images-idx3-ubyte", "corrupt"}, false},
		{"image dims", "train-images-idx3-ubyte", idxBytes([]int{4, 4}, make([]byte, 16)), []string{"train-images-idx3-ubyte", "want 3 (N, H, W)"}, false},
		{"label dims", "train-labels-idx1-ubyte", idxBytes([]int{4, 1}, make([]byte, 4)), []string{"train-labels-idx1-ubyte", "want 1 (N)"}, false},
		{"count mismatch", "train-labels-idx1-ubyte", idxBytes([]int{3}, make([]byte, 3)), []string{"train-labels-idx1-ubyte has 3 labels", "has 4 images"}, false},
		{"label range", "train-labels-idx1-ubyte", idxBytes([]int{4}, []byte{0, 1, 10, 2}), []string{"train-labels-idx1-ubyte", "label 10 of image 2 out of range [0, 10)"}, false},
		{"empty set", "train-images-idx3-ubyte", idxBytes([]int{0, 2, 2}, nil), []string{"empty image set"}, false},
		{"huge header", "train-images-idx3-ubyte", idxBytes([]int{1 << 31, 28, 28}, make([]byte, 64)), []string{"train-images-idx3-ubyte", "corrupt header"}, false},
		{"header claims more", "train-images-idx3-ubyte", idxBytes([]int{1 << 20, 28, 28}, make([]byte, 64)), []string{"train-images-idx3-ubyte", "the file has 64", "truncated"}, false},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		good.write(t, dir)
		p := filepath.Join(dir, tt.file)
		if tt.data == nil {
			os.Remove(p)
		} else {
			writeFile(t, p, tt.data)
		}
		_, _, err := Load(Spec{Name: "fashion-mnist", Path: dir})
		if err == nil {
			t.Errorf("%s: Load(fashion-mnist) error = nil, want one naming %q", tt.name, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Load(fashion-mnist) error = %q, want it to contain %q", tt.name, err, w)
			}
		}
		if got := errors.Is(err, fs.ErrNotExist); got != tt.notExi {
			t.Errorf("%s: errors.Is(err, fs.ErrNotExist) = %v, want %v", tt.name, got, tt.notExi)
		}
	}
}

func TestLoadSpecErrors(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "mnits"}, `unknown dataset "mnits" (valid: fashion-mnist, fashion-mnist-color, mnist, cifar10, imagefolder, synthetic)`},
		{Spec{Name: "mnist"}, "mnist needs path"},
		{Spec{Name: "cifar10"}, "make data-cifar10"},
		{Spec{Name: "imagefolder"}, "imagefolder needs path"},
		{Spec{Name: "synthetic", ImageSize: -1}, "image_size -1"},
		{Spec{Name: "synthetic", ImageSize: MaxImageSize + 1}, "image_size 1025"},
		{Spec{Name: "synthetic", Size: -5}, "size -5"},
		{Spec{Name: "mnist", Path: "x", TestPath: "y"}, "only imagefolder"},
	}
	for _, tt := range tests {
		_, _, err := Load(tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%+v) error = %v, want it to contain %q", tt.spec, err, tt.want)
		}
	}
}

// TestIDXHugeHeaderAllocatesLittle checks a header claiming far more data
// than the stream holds is rejected without allocating for the claim.
func TestIDXHugeHeaderAllocatesLittle(t *testing.T) {
	claims := [][]int{{1 << 31, 28, 28}, {1 << 20, 28, 28}, {1 << 30}}
	for _, dims := range claims {
		raw := idxBytes(dims, make([]byte, 100))
		for _, in := range []struct {
			name string
			b    []byte
			size int64
		}{{"raw", raw, int64(len(raw))}, {"raw unsized", raw, -1}, {"gzip", gzipBytes(t, raw), -1}} {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := decodeIDX(bytes.NewReader(in.b), in.size)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Errorf("decodeIDX(%s, dims %v, 100 data bytes) error = nil, want one", in.name, dims)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
				t.Errorf("decodeIDX(%s, dims %v, 100 data bytes) allocated %d bytes, want < 4 MiB", in.name, dims, got)
			}
		}
	}
}

func TestFashionMNISTColor(t *testing.T) {
	dir := t.TempDir()
	const n, h, w = 40, 2, 3
	// Image i: pixel 0 = 0 (background), pixel 1 = 255 (foreground),
	// pixel 2 = 51 (v = 0.2), the rest ramp.
	px := make([]byte, n*h*w)
	for i := range n {
		copy(px[i*6:], []byte{0, 255, 51, 100, 150, 200})
	}
	labels := make([]byte, n)
	for i := range labels {
		labels[i] = byte(i % 10)
	}
	put := func(labels []byte) {
		writeFile(t, filepath.Join(dir, "train-images-idx3-ubyte"), idxBytes([]int{n, h, w}, px))
		writeFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), idxBytes([]int{n}, labels))
		writeFile(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), idxBytes([]int{n, h, w}, px))
		writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), idxBytes([]int{n}, labels))
	}
	put(labels)
	train, test, err := Load(Spec{Name: "fashion-mnist-color", Path: dir, Seed: 5})
	if err != nil {
		t.Fatalf("Load(fashion-mnist-color) error: %v", err)
	}
	if train.C != 3 || train.H != h || train.W != w || train.N != n || len(train.Images) != n*3*h*w {
		t.Fatalf("Load(fashion-mnist-color) = %d×%d×%d×%d, want %d×3×%d×%d", train.N, train.C, train.H, train.W, n, h, w)
	}
	if !slices.Equal(train.Classes, FashionMNISTClasses) {
		t.Errorf("Load(fashion-mnist-color) classes = %v, want Fashion-MNIST's", train.Classes)
	}
	d := h * w
	for i := range n {
		im := train.Image(i)
		var fg, bg [3]float32
		var d2 float32
		for c := range 3 {
			bg[c], fg[c] = im[c*d], im[c*d+1]
			d2 += (fg[c] - bg[c]) * (fg[c] - bg[c])
			for j := range d {
				v := float32(px[i*d+j]) / 255
				if want := bg[c]*(1-v) + fg[c]*v; !near(im[c*d+j], want, 1e-6) {
					t.Fatalf("image %d channel %d pixel %d = %v, want bg·(1−v) + fg·v = %v", i, c, j, im[c*d+j], want)
				}
			}
		}
		if d2 < minColorDistance*minColorDistance-1e-6 {
			t.Errorf("image %d: fg %v and bg %v are %v apart, want >= %v", i, fg, bg, d2, minColorDistance)
		}
	}
	// Every image draws its own colours; train and test draw differently.
	if slices.Equal(train.Image(0), train.Image(1)) || slices.Equal(train.Image(0), test.Image(0)) {
		t.Error("fashion-mnist-color images 0 and 1, or train and test image 0, have the same colours")
	}
	// Lazy: the same set, rendered image by image.
	lazy, lazyTest, err := Load(Spec{Name: "fashion-mnist-color", Path: dir, Seed: 5, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	if !lazy.Lazy() || lazy.Images != nil || train.Lazy() {
		t.Fatalf("Lazy: %v (Images %d values), without Lazy: %v; want a lazy set only when asked", lazy.Lazy(), len(lazy.Images), train.Lazy())
	}
	if lazy.Checksum() != train.Checksum() || lazyTest.Checksum() != test.Checksum() {
		t.Error("the lazy set's checksum differs from the materialized set's")
	}
	if !slices.Equal(lazy.Materialize().Images, train.Images) || !slices.Equal(lazy.Image(3), train.Image(3)) {
		t.Error("the lazy set's images differ from the materialized set's")
	}
	idx := []int{4, 0, 2}
	if sub, want := lazy.Subset(idx), train.Subset(idx); !sub.Lazy() || !slices.Equal(sub.Materialize().Images, want.Images) || !slices.Equal(sub.Labels, want.Labels) {
		t.Errorf("a subset of the lazy set (lazy: %v) differs from the materialized set's", sub.Lazy())
	}
	again, _, _ := Load(Spec{Name: "fashion-mnist-color", Path: dir, Seed: 5})
	other, _, _ := Load(Spec{Name: "fashion-mnist-color", Path: dir, Seed: 6})
	if again.Checksum() != train.Checksum() {
		t.Error("fashion-mnist-color with seed 5 differs between two loads")
	}
	if other.Checksum() == train.Checksum() {
		t.Error("fashion-mnist-color with seeds 5 and 6 is the same")
	}
	// The colours do not depend on the labels.
	for i := range labels {
		labels[i] = byte((i * 3) % 10)
	}
	put(labels)
	relabelled, _, err := Load(Spec{Name: "fashion-mnist-color", Path: dir, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(relabelled.Images, train.Images) {
		t.Error("fashion-mnist-color pixels changed with the labels, want colours independent of the label")
	}
}
