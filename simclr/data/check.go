package data

import (
	"errors"
	"fmt"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// Check reports whether the files the dataset of cfg reads are where cfg
// says, without reading the data: the four IDX files of the MNIST family
// (in path, or Fashion-MNIST's default location), the CIFAR-10 batch
// files, imagefolder's class folders and that each holds images, in path
// and test_path. A problem comes back as a *config.FieldError on the
// setting to change — path, test_path, or dataset when a default
// location lacks the files — whose message names the missing file and how
// to get the data. A runner calls it for every cell before the first one
// starts; Load reports the same problems, later.
func Check(cfg config.Config) error {
	d, ok := datasets[cfg.Dataset]
	if !ok {
		return &config.FieldError{Key: "dataset", Value: cfg.Dataset, Msg: fmt.Sprintf("unknown value %q", cfg.Dataset), Valid: config.Datasets}
	}
	if d.check == nil {
		return nil
	}
	if fe := d.check(Spec{Name: cfg.Dataset, Path: cfg.Path, TestPath: cfg.TestPath}); fe != nil {
		return fe
	}
	return nil
}

// fieldError is a Check failure on key with value v.
func fieldError(key, v string, err error) *config.FieldError {
	return &config.FieldError{Key: key, Value: v, Msg: err.Error()}
}

// check finds the family's four IDX files (raw or gzipped).
func (fam mnistFamily) check(spec Spec) *config.FieldError {
	dir, key := spec.Path, "path"
	if dir == "" {
		if fam.defaultPath == "" {
			return fieldError(key, "", fmt.Errorf("%s needs path, the folder of its IDX files: %s", fam.name, fam.howToGet))
		}
		// The dataset's choice sent us to its default location.
		dir, key = fam.defaultPath, "dataset"
	}
	for _, name := range idxNames {
		if _, err := findIDX(dir, name, fam); err != nil {
			v := spec.Path
			if key == "dataset" {
				v = spec.Name
				err = fmt.Errorf("%w (the default location; set path to read another folder)", err)
			}
			return fieldError(key, v, err)
		}
	}
	return nil
}

// checkCIFAR10 finds the five train batches and the test batch.
func checkCIFAR10(spec Spec) *config.FieldError {
	dir, err := cifarDir(spec.Path)
	if err != nil {
		return fieldError("path", spec.Path, err)
	}
	for _, files := range [][]string{cifarTrainFiles, cifarTestFiles} {
		for _, name := range files {
			if _, _, err := statCIFARFile(dir, name); err != nil {
				return fieldError("path", spec.Path, err)
			}
		}
	}
	return nil
}

// checkImageFolder lists path's class folders and their images, and
// test_path's, which must have the same classes.
func checkImageFolder(spec Spec) *config.FieldError {
	if spec.Path == "" {
		return fieldError("path", "", errors.New(`imagefolder needs path, a folder of class folders: root/<class>/*.png|jpg|jpeg`))
	}
	classes, _, err := scanImageFolder(spec.Path)
	if err != nil {
		return fieldError("path", spec.Path, err)
	}
	if spec.TestPath == "" {
		return nil
	}
	testClasses, _, err := scanImageFolder(spec.TestPath)
	if err != nil {
		return fieldError("test_path", spec.TestPath, err)
	}
	if err := sameClasses(spec, classes, testClasses); err != nil {
		return fieldError("test_path", spec.TestPath, err)
	}
	return nil
}
