package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/report/document"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// ReportFile is the name of the markdown file build writes.
const ReportFile = "report.md"

const buildUsage = `Usage:
  report build [--db results/results.db] [--out results/] [--experiment NAME ...]
`

type buildCommand struct {
	m *Main
}

// Run runs `report build`.
func (c *buildCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("report", "build", buildUsage, c.m.Stdout)
	dbPath := fs.String("db", "results/results.db", "results database to read (opened read-only)")
	out := fs.String("out", "results/", "directory for report.md and the PNG figures (created if missing)")
	var exps cli.StringList
	fs.Var(&exps, "experiment", "report only this experiment (repeatable; default: every experiment with runs)")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("build: unexpected argument %q (build takes only flags; see report build -h)", pos[0])
	}
	if *out == "" {
		return cli.Usagef("build: --out is empty (give a directory, e.g. --out results/)")
	}
	for _, e := range exps {
		if strings.TrimSpace(e) == "" {
			return cli.Usagef("build: --experiment %q: empty value (name an experiment; see report build -h)", e)
		}
	}

	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := document.Build(ctx, db, document.Options{DBPath: *dbPath, Experiments: exps})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	files := append([]document.File{}, rep.Figures...)
	files = append(files, document.File{Name: ReportFile, Data: rep.Markdown})
	if err := writeAll(*out, files); err != nil {
		return err
	}
	fmt.Fprintf(c.m.Stdout, "wrote %s and %d figures\n", filepath.Join(*out, ReportFile), len(rep.Figures))
	return nil
}

// writeAll writes files into dir all or nothing: every file goes into a
// fresh temporary directory inside dir first (same file system), and only
// when all are written and synced are they renamed into dir, the last one
// (report.md) last. A failure before the renames leaves dir as it was.
func writeAll(dir string, files []document.File) (err error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return cli.Usagef("build: --out %s is a file, not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("build: create output directory: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".report-tmp-")
	if err != nil {
		return fmt.Errorf("build: create temporary directory in %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	for _, f := range files {
		if err := writeSynced(filepath.Join(tmp, f.Name), f.Data); err != nil {
			return fmt.Errorf("build: write %s: %w", f.Name, err)
		}
	}
	// A directory in the way would fail its rename after others were
	// done: refuse before moving anything.
	for _, f := range files {
		if fi, err := os.Stat(filepath.Join(dir, f.Name)); err == nil && fi.IsDir() {
			return fmt.Errorf("build: cannot write %s: it is a directory", filepath.Join(dir, f.Name))
		}
	}
	for _, f := range files {
		if err := os.Rename(filepath.Join(tmp, f.Name), filepath.Join(dir, f.Name)); err != nil {
			return fmt.Errorf("build: move %s into %s: %w", f.Name, dir, err)
		}
	}
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
