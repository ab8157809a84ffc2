package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// ShowCommand is `runner show`: everything recorded about one run.
type ShowCommand struct {
	Stdout io.Writer
	Stderr io.Writer
}

const showUsage = `
Usage: runner show RUN_ID [flags]

Prints everything recorded about one run (ids are in the first column of
runner ls): status and times, error text, the config (every setting) and
the cell's tags, per-epoch metrics, each evaluation (accuracy, macro-F1,
per-class F1 with class names, confusion matrix), earlier attempts,
provenance (git commit, Go version, GOMAXPROCS, host, pid, dataset
checksum) and the files the run kept (save_encoder), each checked against
its recorded size and SHA-256.
`

// Run runs the command.
func (c *ShowCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "show", showUsage, c.Stdout)
	dbPath := fs.String("db", defaultDB, "results database `file`")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("show: want one run id, got %d arguments (usage: runner show RUN_ID)", len(pos))
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return cli.Usagef("show: %q is not a run id (a positive integer, as in the first column of runner ls)", pos[0])
	}
	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := db.GetRun(ctx, id)
	if err != nil {
		return err
	}
	arts, err := db.Artifacts(ctx, id)
	if err != nil {
		return err
	}
	if err := writeRun(c.Stdout, d); err != nil {
		return err
	}
	return writeArtifacts(c.Stdout, db, arts)
}

// writeRun prints a run's details in sections.
func writeRun(w io.Writer, d *store.RunDetail) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	flush := func() { tw.Flush() }

	fmt.Fprintf(bw, "run %d: %s / %s (seed %d)\n", d.ID, d.Experiment, d.Label, d.Seed)
	fmt.Fprintf(tw, "status\t%s (attempt %d)\n", d.Status, d.Attempt)
	fmt.Fprintf(tw, "grid index\t%d\n", d.GridIndex)
	fmt.Fprintf(tw, "config hash\t%s\n", d.ConfigHash)
	if d.Settings != "" {
		fmt.Fprintf(tw, "varying\t%s\n", d.Settings)
	}
	fmt.Fprintf(tw, "started\t%s\n", formatTime(d.StartedAt))
	fmt.Fprintf(tw, "heartbeat\t%s\n", formatTime(d.HeartbeatAt))
	fmt.Fprintf(tw, "ended\t%s\n", formatTime(d.EndedAt))
	fmt.Fprintf(tw, "duration\t%s (pretrain %s, evaluation %s)\n", formatSeconds(d.Duration), formatSeconds(d.PretrainTime), formatSeconds(d.EvalTime))
	if d.FinalLoss != nil {
		fmt.Fprintf(tw, "final loss\t%.4f\n", *d.FinalLoss)
	}
	flush()
	if d.ErrorText != "" {
		fmt.Fprintf(bw, "\nerror:\n%s\n", indent(d.ErrorText, "  "))
	}

	// Config: every setting, then the cell's tags (params rows that are
	// not settings).
	settings, err := store.FlattenConfig(d.Config)
	if err != nil {
		return err
	}
	isSetting := map[string]bool{}
	fmt.Fprintln(bw, "\nconfig:")
	for _, p := range settings {
		isSetting[p.Key] = true
		fmt.Fprintf(tw, "  %s\t%s\n", p.Key, p.Value)
	}
	flush()
	var tags []store.Param
	for _, p := range d.Params {
		if !isSetting[p.Key] {
			tags = append(tags, p)
		}
	}
	if len(tags) > 0 {
		fmt.Fprintln(bw, "\ntags:")
		for _, p := range tags {
			fmt.Fprintf(tw, "  %s\t%s\n", p.Key, p.Value)
		}
		flush()
	}

	fmt.Fprintln(bw, "\nepochs:")
	if len(d.Epochs) == 0 {
		fmt.Fprintln(bw, "  (none recorded)")
	} else {
		// The kNN monitor's column when it ran ("-" in an epoch without).
		knn := slices.ContainsFunc(d.Epochs, func(e simclr.EpochStats) bool { return e.KNNAcc != nil })
		head := "  epoch\tloss\tlr\timages/s\tcontrastive acc\tpositive cos\tseconds\tsteps"
		if knn {
			head += "\tknn acc"
		}
		fmt.Fprintln(tw, head)
		for _, e := range d.Epochs {
			fmt.Fprintf(tw, "  %d/%d\t%s\t%s\t%.0f\t%s\t%s\t%.2f\t%d", e.Epoch, e.Epochs, num4(e.Loss), numG(e.LR),
				e.ImagesPerSec, num4(e.ContrastiveAcc), num4(e.PositiveCos), e.Duration.Seconds(), e.Steps)
			if knn {
				v := math.NaN()
				if e.KNNAcc != nil {
					v = *e.KNNAcc
				}
				fmt.Fprintf(tw, "\t%s", num4(v))
			}
			fmt.Fprintln(tw)
		}
		flush()
	}

	fmt.Fprintln(bw, "\nevaluations:")
	if len(d.Evaluations) == 0 {
		fmt.Fprintln(bw, "  (none recorded)")
	}
	for _, e := range d.Evaluations {
		writeEvaluation(bw, e)
	}

	if len(d.Attempts) > 0 {
		fmt.Fprintln(bw, "\nearlier attempts:")
		for _, a := range d.Attempts {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s pid %d\t%s\n", a.Attempt, a.Status, formatTime(a.StartedAt),
				formatSeconds(a.Duration), a.Host, a.PID, cli.OneLine(a.Error))
		}
		flush()
	}

	p := d.Provenance
	fmt.Fprintln(bw, "\nprovenance:")
	commit := p.GitCommit
	if commit == "" {
		commit = "unknown"
	}
	if p.GitDirty {
		commit += " (uncommitted changes)"
	}
	fmt.Fprintf(tw, "  git commit\t%s\n", commit)
	fmt.Fprintf(tw, "  go\t%s, GOMAXPROCS %d\n", p.GoVersion, p.GOMAXPROCS)
	fmt.Fprintf(tw, "  host\t%s, pid %d\n", p.Host, p.PID)
	if d.DatasetChecksum != "" {
		fmt.Fprintf(tw, "  dataset checksum\t%s\n", d.DatasetChecksum)
	}
	if d.PeakRSSMB > 0 {
		fmt.Fprintf(tw, "  peak RSS\t%.0f MB (the process, while this attempt ran)\n", d.PeakRSSMB)
	}
	flush()
	return bw.Flush()
}

// writeEvaluation prints one evaluation: its scores, per-class F1 with
// class names, and the confusion matrix (rows: true class, columns:
// predicted, numbered as in the per-class table).
func writeEvaluation(w io.Writer, e simclr.Evaluation) {
	feat := e.Features
	if feat == "" {
		feat = "-"
	}
	fmt.Fprintf(w, "\n  %s on %s, label fraction %g (train %d, test %d, %.1fs): accuracy %s, macro-F1 %s\n",
		e.Protocol, feat, e.LabelFraction, e.TrainSize, e.TestSize, float64(e.Duration), num4(e.Accuracy), num4(e.MacroF1))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(e.PerClassF1) > 0 {
		fmt.Fprintln(w, "  per-class F1:")
		ltw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for i, f := range e.PerClassF1 {
			fmt.Fprintf(ltw, "    %d\t%s\t%s\n", i, className(e.Classes, i), num4(f))
		}
		ltw.Flush()
	}
	if len(e.Confusion) > 0 {
		fmt.Fprintln(w, "  confusion (rows true, columns predicted):")
		head := []string{"    "}
		for j := range e.Confusion[0] {
			head = append(head, strconv.Itoa(j))
		}
		fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
		for i, row := range e.Confusion {
			cells := []string{"    " + strconv.Itoa(i)}
			for _, n := range row {
				cells = append(cells, strconv.Itoa(n))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		}
		tw.Flush()
	}
}

func className(classes []string, i int) string {
	if i < len(classes) && classes[i] != "" {
		return classes[i]
	}
	return strconv.Itoa(i)
}

// num4 prints a score with four decimals; NaN (stored as NULL) as "-".
func num4(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', 4, 64)
}

// numG prints a number in its shortest form; NaN as "-".
func numG(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
