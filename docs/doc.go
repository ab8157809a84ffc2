// Package docs holds the project's documentation beyond the README —
// method.md, grids.md, datasets.md, findings.md, performance.md,
// artifacts.md, cluster.md — and the tests that keep it true: every
// relative link in README.md, docs/*.md and store/schema.md leads to a file
// of the repository (and to a heading, for a #fragment into Markdown);
// every TOML example is a grid that runner/grid accepts; grids.md's
// settings table names every setting of config.Config and nothing else;
// and artifacts.md's safetensors reader is the one simclr's PyTorch check
// runs. The package has no code of its own.
package docs
