// Package config is the settings of one grid cell: Config, its defaults,
// its validation and its hash, and a description of every setting
// (Settings: name, kind, valid choices or range, default, one line of
// documentation) that the grid reader, the results store and the report
// share instead of each reading Config's struct tags.
//
// It imports nothing of the training engine, so that reading a grid or a
// results database does not link it; package simclr runs a Config.
//
// The lists of choices (Methods, Datasets, Transforms, ...) are the only
// copy of those names: simclr/augment and simclr/data import them and
// test that each name has an implementation and each implementation a
// name.
package config
