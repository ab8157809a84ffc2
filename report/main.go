package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	cli.PrintError(m.Stderr, "report", err)
	os.Exit(cli.ExitCode(err))
}
