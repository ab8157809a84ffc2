package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/report/serve"
	"github.com/simclr-ablate/simclr-ablate/store"
)

type serveCommand struct {
	m *Main
}

const serveUsage = `Usage:
  report serve [--db results/results.db] [--addr 127.0.0.1:8080]

  Serves a read-only web page of the database: experiments and runs (sortable,
  filterable), a page per run and a comparison of 2 to 10 runs. New runs appear
  on reload. The database is opened read-only and never written.

  The default address answers this machine only. Like mlflow ui --host, give
  --addr 0.0.0.0:8080 (or :8080) to serve every network interface: anyone who
  can reach the machine can then read the results; there is no login.
  Ctrl-C stops it.
`

// Run runs `report serve` until ctx is cancelled (Ctrl-C).
func (c *serveCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("report", "serve", serveUsage, c.m.Stdout)
	dbPath := fs.String("db", "results/results.db", "results database to read (opened read-only)")
	addr := fs.String("addr", "127.0.0.1:8080", "HOST:PORT to listen on; port 0 picks a free one")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("serve: unexpected argument %q (serve takes only flags; see report serve -h)", pos[0])
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return cli.Usagef("serve: --addr %q is not HOST:PORT (e.g. --addr 127.0.0.1:8080)", *addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return cli.Usagef("serve: --addr %q: port %q is not a number from 0 to 65535 (e.g. --addr 127.0.0.1:8080)", *addr, port)
	}

	db, err := store.OpenReadOnly(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w (is another server on that port? pass another --addr, e.g. 127.0.0.1:0 for a free port)", err)
	}
	bound := ln.Addr().(*net.TCPAddr)
	loopback := bound.IP.IsLoopback()
	errLog := log.New(c.m.Stderr, "report serve: ", log.LstdFlags)
	srv, err := serve.New(db, serve.Options{DBPath: *dbPath, LoopbackOnly: loopback, ErrorLog: errLog})
	if err != nil {
		ln.Close()
		return err
	}
	url, where := describeAddr(host, bound)
	fmt.Fprintf(c.m.Stdout, "serving %s read-only on %s (%s)\n", *dbPath, url, where)

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("serve: shut down: %w", err)
	}
	<-done
	return nil
}

// describeAddr returns the URL of the listener bound at bound (for the
// --addr host given) and who can reach it.
func describeAddr(host string, bound *net.TCPAddr) (url, where string) {
	switch {
	case bound.IP.IsLoopback():
		host, where = bound.IP.String(), "loopback only"
	case bound.IP.IsUnspecified():
		if host == "" {
			host = "0.0.0.0"
		}
		where = "every network interface: anyone who can reach this machine can read it; there is no login"
	default:
		host = bound.IP.String()
		where = "reachable from the network: anyone who can reach " + host + " can read it; there is no login"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(bound.Port)), where
}
