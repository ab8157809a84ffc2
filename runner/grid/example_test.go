package grid_test

import (
	"fmt"
	"log"

	"github.com/simclr-ablate/simclr-ablate/runner/grid"
)

// The cells of a [grid] are the cartesian product of its axes, the last
// axis varying fastest.
func ExampleParse_product() {
	src := `
name = "product"
[base]
epochs = 1
[grid]
temperature = [0.1, 0.5]
augment = [["crop", "color"], ["crop"]]
`
	g, err := grid.Parse("product.toml", []byte(src), grid.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Axes, g.Varying)
	for _, c := range g.Cells {
		fmt.Println(c.Index, c.Label, c.Config.Temperature, c.Config.Augment, c.Config.Epochs)
	}
	// Output:
	// [temperature augment] [temperature augment]
	// 0 temperature=0.1, augment=[crop,color] 0.1 [crop color] 1
	// 1 temperature=0.1, augment=[crop] 0.1 [crop] 1
	// 2 temperature=0.5, augment=[crop,color] 0.5 [crop color] 1
	// 3 temperature=0.5, augment=[crop] 0.5 [crop] 1
}

// seeds repeat every cell; the seed loop is outermost, so the first
// seed's cells all come first. The label is the same for every seed.
func ExampleParse_seeds() {
	src := `
name = "seeds"
[base]
seeds = [7, 8]
[grid]
batch_size = [64, 128]
`
	g, err := grid.Parse("seeds.toml", []byte(src), grid.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range g.Cells {
		fmt.Println(c.Index, c.Config.Seed, c.Label)
	}
	// Output:
	// 0 7 batch_size=64
	// 1 7 batch_size=128
	// 2 8 batch_size=64
	// 3 8 batch_size=128
}

// Variants are named rows; baselines such as raw pixels are variants with
// another method. With a [grid] too, every variant meets every axis value.
func ExampleParse_variants() {
	src := `
name = "variants"
[grid]
epochs = [5, 10]
[[variant]]
label = "crop+color"
augment = ["crop", "color"]
[[variant]]
label = "raw pixels"
method = "raw-pixels"
[[variant]]
head = "linear"
`
	g, err := grid.Parse("variants.toml", []byte(src), grid.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range g.Cells {
		fmt.Printf("%d %q %s %s\n", c.Index, c.Label, c.Config.Method, c.Config.Head)
	}
	// Output:
	// 0 "crop+color (epochs=5)" simclr nonlinear
	// 1 "crop+color (epochs=10)" simclr nonlinear
	// 2 "raw pixels (epochs=5)" raw-pixels nonlinear
	// 3 "raw pixels (epochs=10)" raw-pixels nonlinear
	// 4 "head=linear (epochs=5)" simclr linear
	// 5 "head=linear (epochs=10)" simclr linear
}

// [pairwise] makes one cell per ordered pair of transforms, Figure 5
// style: the tested transforms go to the first branch after a crop, the
// second branch is only cropped.
func ExampleParse_pairwise() {
	src := `
name = "pairs"
[pairwise]
transforms = ["crop", "color", "blur"]
`
	g, err := grid.Parse("pairs.toml", []byte(src), grid.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range g.Cells {
		fmt.Println(c.Label, c.Config.Augment, c.Config.AugmentB, c.Tags[grid.PairFirst], c.Tags[grid.PairSecond])
	}
	// Output:
	// crop [crop crop] [crop] crop crop
	// crop+color [crop crop color] [crop] crop color
	// crop+blur [crop crop blur] [crop] crop blur
	// color+crop [crop color crop] [crop] color crop
	// color [crop color] [crop] color color
	// color+blur [crop color blur] [crop] color blur
	// blur+crop [crop blur crop] [crop] blur crop
	// blur+color [crop blur color] [crop] blur color
	// blur [crop blur] [crop] blur blur
}

// focus in [pairwise] keeps the extra seeds for the diagonal and the rows
// and columns of the focused transforms; the other pairs run once.
func ExampleParse_pairwiseFocus() {
	src := `
name = "pairs"
seeds = [1, 2]
[pairwise]
transforms = ["crop", "color", "blur", "noise"]
focus = ["color"]
`
	g, err := grid.Parse("pairs.toml", []byte(src), grid.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range g.Cells {
		if c.Config.Seed == 2 {
			fmt.Println(c.Label)
		}
	}
	fmt.Println(len(g.Cells), "cells")
	// Output:
	// crop
	// crop+color
	// color+crop
	// color
	// color+blur
	// color+noise
	// blur+color
	// blur
	// noise+color
	// noise
	// 26 cells
}

// [[exclude]] drops every cell that matches all keys of a rule.
func ExampleParse_exclude() {
	src := `
name = "exclude"
[grid]
temperature = [0.1, 0.5]
batch_size = [64, 256]
[[exclude]]
temperature = 0.1
batch_size = 256
`
	g, err := grid.Parse("exclude.toml", []byte(src), grid.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range g.Cells {
		fmt.Println(c.Index, c.Label)
	}
	// Output:
	// 0 temperature=0.1, batch_size=64
	// 1 temperature=0.5, batch_size=64
	// 2 temperature=0.5, batch_size=256
}

// --set overrides a setting in every cell; bare words are strings.
func ExampleParse_set() {
	src := `
name = "set"
[base]
dataset = "fashion-mnist"
epochs = 50
[grid]
temperature = [0.1, 0.5]
`
	g, err := grid.Parse("set.toml", []byte(src), grid.Options{
		Set: []string{"epochs=1", "dataset=synthetic", "augment=[crop,flip]", "seeds=[3]"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range g.Cells {
		fmt.Println(c.Label, c.Config.Epochs, c.Config.Dataset, c.Config.Augment, c.Config.Seed)
	}
	// A bad override is reported against the --set argument.
	_, err = grid.Parse("set.toml", []byte(src), grid.Options{Set: []string{"batch_size=-4"}})
	fmt.Println(err)
	// Output:
	// temperature=0.1 1 synthetic [crop flip] 3
	// temperature=0.5 1 synthetic [crop flip] 3
	// --set batch_size=-4: batch_size: must be positive, got -4
}
