package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FashionMNISTClasses are Fashion-MNIST's class names, index = label.
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// MNISTClasses are MNIST's class names, index = label.
var MNISTClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// mnistFamily describes one IDX dataset: its names and where to get it.
type mnistFamily struct {
	name        string
	classes     []string
	defaultPath string
	howToGet    string
}

var (
	fashionMNIST = mnistFamily{
		name:        "fashion-mnist",
		classes:     FashionMNISTClasses,
		defaultPath: DefaultFashionMNISTPath,
		howToGet: "run `make data` (installs Debian package dataset-fashion-mnist into " + DefaultFashionMNISTPath +
			") or download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and " +
			"t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist (data/fashion) into a folder and set path",
	}
	mnist = mnistFamily{
		name:    "mnist",
		classes: MNISTClasses,
		howToGet: "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and " +
			"t10k-labels-idx1-ubyte.gz (the MNIST database, http://yann.lecun.com/exdb/mnist/) into a folder and set path",
	}
)

// loadMNISTFamily reads train-* and t10k-* IDX files from dir.
func loadMNISTFamily(dir string, fam mnistFamily) (train, test *Set, err error) {
	if dir == "" {
		if fam.defaultPath == "" {
			return nil, nil, fmt.Errorf("%s needs path, the folder of its IDX files: %s", fam.name, fam.howToGet)
		}
		dir = fam.defaultPath
	}
	train, err = loadIDXPair(dir, "train", fam)
	if err != nil {
		return nil, nil, err
	}
	test, err = loadIDXPair(dir, "t10k", fam)
	if err != nil {
		return nil, nil, err
	}
	if train.H != test.H || train.W != test.W {
		return nil, nil, fmt.Errorf("%s: train images are %d×%d, test images %d×%d", dir, train.H, train.W, test.H, test.W)
	}
	return train, test, nil
}

// loadIDXPair reads prefix-images-idx3-ubyte[.gz] and
// prefix-labels-idx1-ubyte[.gz] into a 1-channel set.
func loadIDXPair(dir, prefix string, fam mnistFamily) (*Set, error) {
	imgPath, err := findIDX(dir, prefix+"-images-idx3-ubyte", fam)
	if err != nil {
		return nil, err
	}
	lblPath, err := findIDX(dir, prefix+"-labels-idx1-ubyte", fam)
	if err != nil {
		return nil, err
	}
	im, err := readIDXFile(imgPath)
	if err != nil {
		return nil, fmt.Errorf("read %s images: %w", fam.name, err)
	}
	lb, err := readIDXFile(lblPath)
	if err != nil {
		return nil, fmt.Errorf("read %s labels: %w", fam.name, err)
	}
	return idxSet(im, lb, imgPath, lblPath, fam.classes)
}

// idxSet checks an image IDX ([N, H, W]) against a label IDX ([N]) and
// converts them to a Set with v/255 pixels.
func idxSet(im, lb *idx, imgPath, lblPath string, classes []string) (*Set, error) {
	if len(im.Dims) != 3 {
		return nil, fmt.Errorf("%s: images have %d dimensions %v, want 3 (N, H, W)", imgPath, len(im.Dims), im.Dims)
	}
	if len(lb.Dims) != 1 {
		return nil, fmt.Errorf("%s: labels have %d dimensions %v, want 1 (N)", lblPath, len(lb.Dims), lb.Dims)
	}
	n, h, w := im.Dims[0], im.Dims[1], im.Dims[2]
	if n == 0 || h == 0 || w == 0 {
		return nil, fmt.Errorf("%s: empty image set %v", imgPath, im.Dims)
	}
	if lb.Dims[0] != n {
		return nil, fmt.Errorf("%s has %d labels but %s has %d images", lblPath, lb.Dims[0], imgPath, n)
	}
	s := &Set{
		Images:  make([]float32, len(im.Data)),
		Labels:  make([]int, n),
		N:       n,
		C:       1,
		H:       h,
		W:       w,
		Classes: append([]string(nil), classes...),
	}
	for i, l := range lb.Data {
		if int(l) >= len(classes) {
			return nil, fmt.Errorf("%s: label %d of image %d out of range [0, %d)", lblPath, l, i, len(classes))
		}
		s.Labels[i] = int(l)
	}
	for i, v := range im.Data {
		s.Images[i] = float32(v) / 255
	}
	return s, nil
}

// findIDX returns dir/name or dir/name.gz, whichever exists (raw first).
func findIDX(dir, name string, fam mnistFamily) (string, error) {
	raw := filepath.Join(dir, name)
	for _, p := range []string{raw, raw + ".gz"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s: %w", fam.name, err)
		}
	}
	return "", fmt.Errorf("%s: missing %s (or %s.gz): %w; %s", fam.name, raw, raw, fs.ErrNotExist, fam.howToGet)
}

// colorize renders a 1-channel set in [0, 1] to 3 channels with a random
// foreground colour fg and background colour bg per image:
//
//	pixel_c = bg_c·(1−v) + fg_c·v,  v = the grayscale pixel, c = R, G, B
//
// fg and bg are drawn uniformly from [0,1]³, the pair re-drawn until their
// Euclidean distance is at least minColorDistance. The draw depends on
// seed, split (0 train, 1 test) and the image index, never on the label.
func colorize(s *Set, seed int64, split uint64) *Set {
	d := s.H * s.W
	out := &Set{
		Images:  make([]float32, s.N*3*d),
		Labels:  append([]int(nil), s.Labels...),
		N:       s.N,
		C:       3,
		H:       s.H,
		W:       s.W,
		Classes: append([]string(nil), s.Classes...),
	}
	for i := range s.N {
		fg, bg := colorPair(seed, split, i)
		src := s.Images[i*d : (i+1)*d]
		dst := out.Images[i*3*d : (i+1)*3*d]
		for c := range 3 {
			f, b := fg[c], bg[c]
			ch := dst[c*d : (c+1)*d]
			for j, v := range src {
				ch[j] = b*(1-v) + f*v
			}
		}
	}
	return out
}

// minColorDistance is the least RGB distance between fashion-mnist-color's
// foreground and background (the cube's diagonal is √3 ≈ 1.73).
const minColorDistance = 0.5

// colorPair draws image i's foreground and background colours.
func colorPair(seed int64, split uint64, i int) (fg, bg [3]float32) {
	rng := newRand(seed, streamColor, split<<40|uint64(i))
	for {
		var d2 float32
		for c := range 3 {
			fg[c] = rng.Float32()
			bg[c] = rng.Float32()
			d2 += (fg[c] - bg[c]) * (fg[c] - bg[c])
		}
		if d2 >= minColorDistance*minColorDistance {
			return fg, bg
		}
	}
}
