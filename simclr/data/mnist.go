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
		howToGet: "run `make data` (apt-get install dataset-fashion-mnist, which puts them in " + DefaultFashionMNISTPath +
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

// idxNames are the four IDX files of a family, each raw or gzipped.
var idxNames = []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}

// loadMNISTFamily reads train-* and t10k-* IDX files from dir.
func loadMNISTFamily(dir string, fam mnistFamily) (train, test *Set, err error) {
	tr, te, err := loadMNISTFamily8(dir, fam)
	if err != nil {
		return nil, nil, err
	}
	return tr.set(), te.set(), nil
}

// gray8 is an 8-bit grayscale set as read: the Set without its Images, and
// the pixels v whose values are v/255.
type gray8 struct {
	s   *Set
	pix []byte
}

// set converts the pixels to the Set's float32 Images.
func (g gray8) set() *Set {
	g.s.Images = make([]float32, len(g.pix))
	for i, v := range g.pix {
		g.s.Images[i] = float32(v) / 255
	}
	return g.s
}

// lazy returns the set as a lazy set rendering v/255 from the 8-bit
// pixels (a quarter of the float32 images' memory).
func (g gray8) lazy() *Set {
	return g.s.lazyPixels(&pixels{pix: g.pix, d: g.s.C * g.s.H * g.s.W, paint: paintGray})
}

// paintGray renders an 8-bit grayscale image as v/255.
func paintGray(_ int, src []byte, dst []float32) {
	for j, v := range src {
		dst[j] = byteValue[v]
	}
}

// byteValue[v] is v/255 as float32, the value of an 8-bit pixel v: a
// lookup costs less than the division, and training renders an image
// each time it makes a view of it. The same bits as float32(v) / 255
// (TestByteValue).
var byteValue = func() (t [256]float32) {
	for v := range t {
		t[v] = float32(v) / 255
	}
	return t
}()

// loadMNISTFamily8 is loadMNISTFamily without the float conversion.
func loadMNISTFamily8(dir string, fam mnistFamily) (train, test gray8, err error) {
	if dir == "" {
		if fam.defaultPath == "" {
			return train, test, fmt.Errorf("%s needs path, the folder of its IDX files: %s", fam.name, fam.howToGet)
		}
		dir = fam.defaultPath
	}
	if train, err = loadIDXPair(dir, "train", fam); err != nil {
		return train, test, err
	}
	if test, err = loadIDXPair(dir, "t10k", fam); err != nil {
		return train, test, err
	}
	if train.s.H != test.s.H || train.s.W != test.s.W {
		return train, test, fmt.Errorf("%s: train images are %d×%d, test images %d×%d", dir, train.s.H, train.s.W, test.s.H, test.s.W)
	}
	return train, test, nil
}

// loadIDXPair reads prefix-images-idx3-ubyte[.gz] and
// prefix-labels-idx1-ubyte[.gz] into a 1-channel set.
func loadIDXPair(dir, prefix string, fam mnistFamily) (gray8, error) {
	imgPath, err := findIDX(dir, prefix+"-images-idx3-ubyte", fam)
	if err != nil {
		return gray8{}, err
	}
	lblPath, err := findIDX(dir, prefix+"-labels-idx1-ubyte", fam)
	if err != nil {
		return gray8{}, err
	}
	im, err := readIDXFile(imgPath)
	if err != nil {
		return gray8{}, fmt.Errorf("read %s images: %w", fam.name, err)
	}
	lb, err := readIDXFile(lblPath)
	if err != nil {
		return gray8{}, fmt.Errorf("read %s labels: %w", fam.name, err)
	}
	return idxGray(im, lb, imgPath, lblPath, fam.classes)
}

// idxSet checks an image IDX ([N, H, W]) against a label IDX ([N]) and
// converts them to a Set with v/255 pixels.
func idxSet(im, lb *idx, imgPath, lblPath string, classes []string) (*Set, error) {
	g, err := idxGray(im, lb, imgPath, lblPath, classes)
	if err != nil {
		return nil, err
	}
	return g.set(), nil
}

// idxGray is idxSet without the float conversion.
func idxGray(im, lb *idx, imgPath, lblPath string, classes []string) (gray8, error) {
	if len(im.Dims) != 3 {
		return gray8{}, fmt.Errorf("%s: images have %d dimensions %v, want 3 (N, H, W)", imgPath, len(im.Dims), im.Dims)
	}
	if len(lb.Dims) != 1 {
		return gray8{}, fmt.Errorf("%s: labels have %d dimensions %v, want 1 (N)", lblPath, len(lb.Dims), lb.Dims)
	}
	n, h, w := im.Dims[0], im.Dims[1], im.Dims[2]
	if n == 0 || h == 0 || w == 0 {
		return gray8{}, fmt.Errorf("%s: empty image set %v", imgPath, im.Dims)
	}
	if lb.Dims[0] != n {
		return gray8{}, fmt.Errorf("%s has %d labels but %s has %d images", lblPath, lb.Dims[0], imgPath, n)
	}
	s := &Set{
		Labels:  make([]int, n),
		N:       n,
		C:       1,
		H:       h,
		W:       w,
		Classes: append([]string(nil), classes...),
	}
	for i, l := range lb.Data {
		if int(l) >= len(classes) {
			return gray8{}, fmt.Errorf("%s: label %d of image %d out of range [0, %d)", lblPath, l, i, len(classes))
		}
		s.Labels[i] = int(l)
	}
	return gray8{s: s, pix: im.Data}, nil
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

// colorize returns the lazy set that renders an 8-bit grayscale set (read,
// never converted to float: the 188 MB of the float Fashion-MNIST training
// set need not exist) to 3 channels with a random foreground colour fg and
// background colour bg per image:
//
//	pixel_c = bg_c·(1−v) + fg_c·v,  v = the grayscale pixel, c = R, G, B
//
// fg and bg are drawn uniformly from [0,1]³, the pair re-drawn until their
// Euclidean distance is at least minColorDistance. The draw depends on
// seed, split (0 train, 1 test) and the image index, never on the label.
func colorize(g gray8, seed int64, split uint64) *Set {
	s := g.s
	d := s.H * s.W
	out := &Set{
		Labels:  append([]int(nil), s.Labels...),
		N:       s.N,
		C:       3,
		H:       s.H,
		W:       s.W,
		Classes: append([]string(nil), s.Classes...),
	}
	return out.lazyPixels(&pixels{pix: g.pix, d: d, paint: func(i int, src []byte, dst []float32) {
		fg, bg := colorPair(seed, split, i)
		for c := range 3 {
			f, b := fg[c], bg[c]
			ch := dst[c*d : (c+1)*d]
			for j, p := range src {
				v := byteValue[p]
				ch[j] = b*(1-v) + f*v
			}
		}
	}})
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
