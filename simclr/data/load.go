package data

import (
	"fmt"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// DefaultFashionMNISTPath is where Debian's dataset-fashion-mnist package
// (`make data`) installs the four gzipped IDX files.
const DefaultFashionMNISTPath = "/usr/share/datasets/fashion-mnist"

// MaxImageSize bounds Spec.ImageSize.
const MaxImageSize = config.MaxImageSize

// Spec says which dataset to load and how.
type Spec struct {
	Name string // one of config.Datasets

	// Path is the dataset's folder: the four IDX files (fashion-mnist,
	// fashion-mnist-color, mnist), the CIFAR-10 batches (cifar10), the
	// class folders (imagefolder). "" means DefaultFashionMNISTPath for
	// the Fashion-MNIST variants and is an error for mnist, cifar10 and
	// imagefolder. Unused by synthetic.
	Path string

	// TestPath is imagefolder's separate test root (same class folders).
	// "" splits Path by class, seeded: round(20%) of each class to test,
	// at least one image each way for a class of two or more.
	// It is an error for the other datasets.
	TestPath string

	// ImageSize is the output side in pixels; 0 keeps the native size
	// (28 for the MNIST family, 32 for cifar10 and synthetic; imagefolder's
	// images must then all have one size). Any other value resizes every
	// image to ImageSize×ImageSize (antialiased bilinear), for every dataset.
	ImageSize int

	// Size is the number of synthetic train images (test: max(1, Size/4));
	// 0 means 512. Unused by the other datasets.
	Size int

	// Seed draws the synthetic images, the colours of fashion-mnist-color
	// and imagefolder's train/test split. Unused by the rest.
	Seed int64

	// Lazy lets Load return lazy sets (Set.Lazy), which render an image
	// when it is used: the MNIST family at its native size does
	// (fashion-mnist-color's 70 000 float32 images are 658 MB,
	// fashion-mnist's 220 MB, their 8-bit sources 55 MB), and synthetic,
	// which draws an image from its seed whenever it is read. A caller
	// that sets it reads images through Image or CopyImages, or calls
	// Materialize before reading Images (a lazy set's subsets are lazy
	// too).
	Lazy bool
}

// dataset is how Load reads one dataset and how Check finds its files.
type dataset struct {
	// load returns the sets at their native size; unless sized, Load
	// then resizes them to Spec.ImageSize and materializes them when
	// Spec.Lazy is false.
	load  func(Spec) (train, test *Set, err error)
	sized bool // load applies ImageSize and returns final sets itself
	// check reports a missing file or folder without reading the data;
	// nil when the dataset reads no files.
	check func(Spec) *config.FieldError
}

// datasets implements every name of config.Datasets (a test checks both
// ways).
var datasets = map[string]dataset{
	"fashion-mnist":       {load: func(s Spec) (*Set, *Set, error) { return fashionMNIST.load(s) }, check: checkFashionMNIST},
	"mnist":               {load: func(s Spec) (*Set, *Set, error) { return mnist.load(s) }, check: func(s Spec) *config.FieldError { return mnist.check(s) }},
	"fashion-mnist-color": {load: loadFashionMNISTColor, check: checkFashionMNIST},
	"cifar10":             {load: func(s Spec) (*Set, *Set, error) { return loadCIFAR10(s.Path) }, check: checkCIFAR10},
	"imagefolder":         {load: loadImageFolder, sized: true, check: checkImageFolder},
	"synthetic": {sized: true, load: func(s Spec) (*Set, *Set, error) {
		if s.Lazy {
			return syntheticLazy(s.Size, s.ImageSize, s.Seed)
		}
		return Synthetic(s.Size, s.ImageSize, s.Seed)
	}},
}

func checkFashionMNIST(s Spec) *config.FieldError { return fashionMNIST.check(s) }

// Load reads (or generates) the dataset of spec and returns its train and
// test sets. Errors name the file or folder at fault and, for missing
// data, how to get it; a missing file's error wraps fs.ErrNotExist.
func Load(spec Spec) (train, test *Set, err error) {
	if spec.ImageSize < 0 || spec.ImageSize > MaxImageSize {
		return nil, nil, fmt.Errorf("image_size %d: must be 0 (native) or in [1, %d]", spec.ImageSize, MaxImageSize)
	}
	if spec.Size < 0 {
		return nil, nil, fmt.Errorf("synthetic size %d: must be >= 0", spec.Size)
	}
	if spec.TestPath != "" && spec.Name != "imagefolder" {
		return nil, nil, fmt.Errorf("test_path %q: only imagefolder takes a separate test folder, not %s", spec.TestPath, spec.Name)
	}
	d, ok := datasets[spec.Name]
	if !ok {
		return nil, nil, fmt.Errorf("unknown dataset %q (valid: %s)", spec.Name, strings.Join(config.Datasets, ", "))
	}
	train, test, err = d.load(spec)
	if err != nil || d.sized {
		return train, test, err
	}
	if spec.ImageSize != 0 {
		train = resizeSet(train.Materialize(), spec.ImageSize)
		test = resizeSet(test.Materialize(), spec.ImageSize)
	}
	if !spec.Lazy {
		train, test = train.Materialize(), test.Materialize()
	}
	return train, test, nil
}

// load reads the family's IDX files: lazy sets when spec.Lazy (a quarter
// of the float32 images' memory), else float32 ones.
func (fam mnistFamily) load(spec Spec) (train, test *Set, err error) {
	if !spec.Lazy {
		return loadMNISTFamily(spec.Path, fam)
	}
	tr, te, err := loadMNISTFamily8(spec.Path, fam)
	if err != nil {
		return nil, nil, err
	}
	return tr.lazy(), te.lazy(), nil
}

// loadFashionMNISTColor renders Fashion-MNIST's 8-bit images in colour,
// lazily.
func loadFashionMNISTColor(spec Spec) (train, test *Set, err error) {
	tr, te, err := loadMNISTFamily8(spec.Path, fashionMNIST)
	if err != nil {
		return nil, nil, err
	}
	return colorize(tr, spec.Seed, 0), colorize(te, spec.Seed, 1), nil
}
