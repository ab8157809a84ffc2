package data

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR10Classes are CIFAR-10's class names, index = label, used when the
// folder has no batches.meta.txt.
var CIFAR10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

const (
	cifarSide   = 32
	cifarPixels = 3 * cifarSide * cifarSide // CHW bytes of one record
	cifarRecord = 1 + cifarPixels           // label byte + pixels
	// maxCIFARBytes bounds one batch file (the official ones are 30 730 000
	// bytes).
	maxCIFARBytes = 1 << 30
)

var (
	cifarTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	cifarTestFiles  = []string{"test_batch.bin"}
)

const cifarHowToGet = "run `make data-cifar10` (fetches the CIFAR-10 binary version into data/cifar-10-batches-bin) and set path = \"data/cifar-10-batches-bin\""

// loadCIFAR10 reads the CIFAR-10 binary version from dir: data_batch_1.bin
// … data_batch_5.bin (train), test_batch.bin (test), each a sequence of
// 3073-byte records (label byte, then 3×32×32 pixels in CHW order), and the
// class names from batches.meta.txt when present. A dir holding a
// cifar-10-batches-bin folder (as the archive unpacks) is accepted too.
func loadCIFAR10(dir string) (train, test *Set, err error) {
	dir, err = cifarDir(dir)
	if err != nil {
		return nil, nil, err
	}
	classes, err := cifarClasses(dir)
	if err != nil {
		return nil, nil, err
	}
	train, err = readCIFARFiles(dir, cifarTrainFiles, classes)
	if err != nil {
		return nil, nil, err
	}
	test, err = readCIFARFiles(dir, cifarTestFiles, classes)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// cifarDir is the folder of the batch files: dir, or its
// cifar-10-batches-bin folder when only that holds them.
func cifarDir(dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("cifar10 needs path, the folder of data_batch_1.bin … test_batch.bin: %s", cifarHowToGet)
	}
	if _, err := os.Stat(filepath.Join(dir, cifarTrainFiles[0])); errors.Is(err, fs.ErrNotExist) {
		sub := filepath.Join(dir, "cifar-10-batches-bin")
		if _, err := os.Stat(filepath.Join(sub, cifarTrainFiles[0])); err == nil {
			return sub, nil
		}
	}
	return dir, nil
}

// statCIFARFile returns the size of batch file dir/name, or an error
// saying it is missing and how to get it.
func statCIFARFile(dir, name string) (path string, size int64, err error) {
	path = filepath.Join(dir, name)
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, 0, fmt.Errorf("cifar10: missing %s: %w; %s", path, fs.ErrNotExist, cifarHowToGet)
	}
	if err != nil {
		return path, 0, fmt.Errorf("cifar10: %w", err)
	}
	if !st.Mode().IsRegular() {
		return path, 0, fmt.Errorf("cifar10: %s is not a regular file", path)
	}
	return path, st.Size(), nil
}

// cifarClasses reads dir/batches.meta.txt (one name a line, blank lines
// ignored) or returns CIFAR10Classes when it does not exist.
func cifarClasses(dir string) ([]string, error) {
	path := filepath.Join(dir, "batches.meta.txt")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return append([]string(nil), CIFAR10Classes...), nil
	}
	if err != nil {
		return nil, fmt.Errorf("cifar10 class names: %w", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name := strings.TrimSpace(sc.Text()); name != "" {
			names = append(names, name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cifar10 class names: %s: %w", path, err)
	}
	if len(names) == 0 || len(names) > 256 {
		return nil, fmt.Errorf("cifar10 class names: %s has %d names, want 1 to 256 (or remove it for the standard names)", path, len(names))
	}
	return names, nil
}

// readCIFARFiles concatenates the records of the given batch files.
func readCIFARFiles(dir string, files []string, classes []string) (*Set, error) {
	s := &Set{C: 3, H: cifarSide, W: cifarSide, Classes: classes}
	for _, name := range files {
		path, size, err := statCIFARFile(dir, name)
		if err != nil {
			return nil, err
		}
		if size > maxCIFARBytes {
			return nil, fmt.Errorf("cifar10: %s is %d bytes, more than the %d a batch file may have", path, size, maxCIFARBytes)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cifar10: %w", err)
		}
		images, labels, err := decodeCIFAR(b, len(classes))
		if err != nil {
			return nil, fmt.Errorf("cifar10: %s: %w", path, err)
		}
		s.Images = append(s.Images, images...)
		s.Labels = append(s.Labels, labels...)
	}
	s.N = len(s.Labels)
	return s, nil
}

// decodeCIFAR decodes CIFAR-10 binary records: per record one label byte
// (< classes) then 3072 pixel bytes, CHW. Pixels become v/255.
func decodeCIFAR(b []byte, classes int) (images []float32, labels []int, err error) {
	if len(b) == 0 {
		return nil, nil, errors.New("empty batch file")
	}
	if len(b)%cifarRecord != 0 {
		return nil, nil, fmt.Errorf("%d bytes is not a whole number of %d-byte records: truncated record %d", len(b), cifarRecord, len(b)/cifarRecord)
	}
	n := len(b) / cifarRecord
	images = make([]float32, n*cifarPixels)
	labels = make([]int, n)
	for i := range n {
		rec := b[i*cifarRecord : (i+1)*cifarRecord]
		if int(rec[0]) >= classes {
			return nil, nil, fmt.Errorf("record %d: label %d out of range [0, %d)", i, rec[0], classes)
		}
		labels[i] = int(rec[0])
		dst := images[i*cifarPixels : (i+1)*cifarPixels]
		for j, v := range rec[1:] {
			dst[j] = float32(v) / 255
		}
	}
	return images, labels, nil
}
