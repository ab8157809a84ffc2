package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the JPEG decoder for image.Decode
	_ "image/png"  // register the PNG decoder for image.Decode
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// maxImagePixels bounds the width×height an image file may declare
// (64 megapixels), checked before its pixels are decoded.
const maxImagePixels = 1 << 26

// testFraction is the share of each class imagefolder's seeded split puts
// in the test set.
const testFraction = 0.2

// folderItem is one image file of an image folder.
type folderItem struct {
	path  string
	label int
}

// loadImageFolder reads root/<class>/*.png|jpg|jpeg (extensions in any
// case; other files and nested folders are ignored; class folders whose
// name starts with "." are skipped). Classes are the folder names, sorted.
// Every image is decoded, converted to RGB (grayscale images give three
// equal channels; alpha is dropped, as PIL's convert("RGB")) and resized
// to ImageSize×ImageSize; with ImageSize 0 all images must share one size.
// Images are ordered class by class, by file name within a class.
func loadImageFolder(spec Spec) (train, test *Set, err error) {
	if spec.Path == "" {
		return nil, nil, errors.New(`imagefolder needs path, a folder of class folders: root/<class>/*.png|jpg|jpeg`)
	}
	classes, items, err := scanImageFolder(spec.Path)
	if err != nil {
		return nil, nil, err
	}
	var trainItems, testItems []folderItem
	if spec.TestPath != "" {
		testClasses, ti, err := scanImageFolder(spec.TestPath)
		if err != nil {
			return nil, nil, fmt.Errorf("imagefolder test_path: %w", err)
		}
		if err := sameClasses(spec, classes, testClasses); err != nil {
			return nil, nil, err
		}
		trainItems, testItems = items, ti
	} else {
		trainItems, testItems = splitItems(items, len(classes), spec.Seed)
	}
	h, w := spec.ImageSize, spec.ImageSize
	if h == 0 {
		if h, w, err = imageSize(trainItems[0].path); err != nil {
			return nil, nil, err
		}
	}
	train, err = decodeItems(trainItems, classes, h, w, spec.ImageSize == 0)
	if err != nil {
		return nil, nil, err
	}
	test, err = decodeItems(testItems, classes, h, w, spec.ImageSize == 0)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// scanImageFolder lists root's class folders (sorted) and their images.
func scanImageFolder(root string) (classes []string, items []folderItem, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("imagefolder: %w (want a folder of class folders, %s/<class>/*.png|jpg|jpeg)", err, root)
	}
	for _, e := range entries {
		if !isDir(root, e) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("imagefolder: %w", err)
		}
		label := len(classes)
		n := len(items)
		for _, f := range files {
			if !isDir(dir, f) && isImageName(f.Name()) {
				items = append(items, folderItem{path: filepath.Join(dir, f.Name()), label: label})
			}
		}
		if len(items) == n {
			return nil, nil, fmt.Errorf("imagefolder: class folder %s has no .png, .jpg or .jpeg images", dir)
		}
		classes = append(classes, e.Name())
	}
	if len(classes) == 0 {
		return nil, nil, fmt.Errorf("imagefolder: %s has no class folders: want %s/<class>/*.png|jpg|jpeg", root, root)
	}
	return classes, items, nil
}

// sameClasses checks that the train and test roots have the same class
// folders.
func sameClasses(spec Spec, classes, testClasses []string) error {
	if !slices.Equal(classes, testClasses) {
		return fmt.Errorf("imagefolder: class folders differ between %s %v and test_path %s %v: %s",
			spec.Path, classes, spec.TestPath, testClasses, classDiff(classes, testClasses))
	}
	return nil
}

// isDir reports whether entry e of dir is a folder, following symlinks.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && st.IsDir()
}

func isImageName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// classDiff says which class names only one of two lists has.
func classDiff(a, b []string) string {
	var onlyA, onlyB []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			onlyB = append(onlyB, x)
		}
	}
	return fmt.Sprintf("only in path: %v, only in test_path: %v", onlyA, onlyB)
}

// splitItems puts round(testFraction·n) images of each class of n images
// in test (at least one, and at least one left in train, when n >= 2),
// chosen by seed; both parts keep the order of items.
func splitItems(items []folderItem, classes int, seed int64) (train, test []folderItem) {
	byClass := make([][]int, classes)
	for i, it := range items {
		byClass[it.label] = append(byClass[it.label], i)
	}
	inTest := make([]bool, len(items))
	for label, idx := range byClass {
		n := len(idx)
		k := int(math.Round(testFraction * float64(n)))
		if n >= 2 {
			k = min(max(k, 1), n-1)
		}
		rng := newRand(seed, streamSplit, uint64(label))
		rng.Shuffle(n, func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx[:k] {
			inTest[i] = true
		}
	}
	for i, it := range items {
		if inTest[i] {
			test = append(test, it)
		} else {
			train = append(train, it)
		}
	}
	return train, test
}

// imageSize reads the height and width an image file declares.
func imageSize(path string) (h, w int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("imagefolder: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("imagefolder: unreadable image %s: %w", path, err)
	}
	return cfg.Height, cfg.Width, nil
}

// decodeItems decodes the images into a 3×h×w set, in parallel. With
// exact, every image must already be h×w; otherwise each is resized.
func decodeItems(items []folderItem, classes []string, h, w int, exact bool) (*Set, error) {
	d := 3 * h * w
	s := &Set{
		Images:  make([]float32, len(items)*d),
		Labels:  make([]int, len(items)),
		N:       len(items),
		C:       3,
		H:       h,
		W:       w,
		Classes: slices.Clone(classes),
	}
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range min(runtime.GOMAXPROCS(0), len(items)) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(items) {
					return
				}
				it := items[i]
				s.Labels[i] = it.label
				errs[i] = decodeInto(s.Images[i*d:(i+1)*d], it.path, h, w, exact)
				if errs[i] != nil {
					mu.Lock()
					next = len(items) // stop the other workers early
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// decodeInto decodes the image file at path into dst as 3×h×w RGB.
func decodeInto(dst []float32, path string, h, w int, exact bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("imagefolder: %w", err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("imagefolder: unreadable image %s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImagePixels/max(cfg.Height, 1) {
		return fmt.Errorf("imagefolder: image %s is %d×%d pixels, want at most %d pixels", path, cfg.Width, cfg.Height, maxImagePixels)
	}
	if exact && (cfg.Width != w || cfg.Height != h) {
		return fmt.Errorf("imagefolder: image %s is %d×%d but others are %d×%d: set image_size to resize them to one size",
			path, cfg.Width, cfg.Height, w, h)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("imagefolder: unreadable image %s: %w", path, err)
	}
	ih, iw := img.Bounds().Dy(), img.Bounds().Dx()
	if ih == h && iw == w {
		toCHW(dst, img)
		return nil
	}
	full := make([]float32, 3*ih*iw)
	toCHW(full, img)
	newResizer(3, ih, iw, h, w).resize(dst, full)
	return nil
}

// toCHW writes img as 3×H×W RGB in [0, 1] into dst. Alpha is dropped (the
// colour is kept as stored, un-premultiplied), grayscale is copied to all
// three channels.
func toCHW(dst []float32, img image.Image) {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	plane := h * w
	r, g, bl := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[o : o+w]
			for x, v := range row {
				f := float32(v) / 255
				r[y*w+x], g[y*w+x], bl[y*w+x] = f, f, f
			}
		}
	case *image.NRGBA:
		for y := range h {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[o : o+4*w]
			for x := range w {
				r[y*w+x] = float32(row[4*x]) / 255
				g[y*w+x] = float32(row[4*x+1]) / 255
				bl[y*w+x] = float32(row[4*x+2]) / 255
			}
		}
	case *image.RGBA: // alpha-premultiplied: divide by alpha
		for y := range h {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[o : o+4*w]
			for x := range w {
				a := float32(row[4*x+3])
				if a == 0 {
					r[y*w+x], g[y*w+x], bl[y*w+x] = 0, 0, 0
					continue
				}
				r[y*w+x] = float32(row[4*x]) / a
				g[y*w+x] = float32(row[4*x+1]) / a
				bl[y*w+x] = float32(row[4*x+2]) / a
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				c := m.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				cr, cg, cb := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				r[y*w+x], g[y*w+x], bl[y*w+x] = float32(cr)/255, float32(cg)/255, float32(cb)/255
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				r[y*w+x], g[y*w+x], bl[y*w+x] = float32(c.R)/65535, float32(c.G)/65535, float32(c.B)/65535
			}
		}
	}
}
