// Command viewparity writes the views simclr/augment's Loader makes, for
// bench/view_parity.py to compare with the PyTorch replica's
// (bench/torch_reference_cell.py, --views go).
//
// Usage:
//
//	go run ./bench/viewparity -dataset fashion-mnist-color -out views.bin 'crop,color;roi'
//
// For each pipeline (transforms joined by ",", pipelines by ";") it writes,
// as little-endian float32, the views of the first 64 images of the
// dataset's RandomSubset(train, 64, seed) for epochs 1 and 2, image by
// image, branch 0 then 1, with crop_min_scale 0.2 and colour strength 1
// (the other parameters augment.DefaultParams).
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/simclr/augment"
	"github.com/simclr-ablate/simclr-ablate/simclr/data"
)

func main() {
	dataset := flag.String("dataset", "fashion-mnist-color", "fashion-mnist or fashion-mnist-color")
	out := flag.String("out", "views.bin", "output `file`")
	seed := flag.Int64("seed", 3, "subset and view seed")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: viewparity [-dataset NAME] [-out FILE] 'crop,color;roi'")
		os.Exit(2)
	}
	if err := run(*dataset, *out, *seed, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "viewparity:", err)
		os.Exit(1)
	}
}

func run(dataset, out string, seed int64, pipelines string) error {
	train, _, err := data.Load(data.Spec{Name: dataset, Seed: 1, Lazy: true})
	if err != nil {
		return err
	}
	sub := data.RandomSubset(train, 64, seed)
	p := augment.DefaultParams()
	p.CropMinScale = 0.2
	p.ColorStrength = 1.0
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	dst := make([]float32, sub.C*sub.H*sub.W)
	for _, names := range strings.Split(pipelines, ";") {
		a, err := augment.NewPipeline(strings.Split(names, ","), p)
		if err != nil {
			return err
		}
		l := augment.NewLoader(sub.Images, sub.N, sub.C, sub.H, sub.W, a, a, 16, seed, 1)
		for epoch := 1; epoch <= 2; epoch++ {
			for i := range sub.N {
				for branch := range 2 {
					l.View(dst, epoch, i, branch)
					if err := binary.Write(f, binary.LittleEndian, dst); err != nil {
						return err
					}
				}
			}
		}
	}
	return f.Close()
}
