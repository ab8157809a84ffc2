package serve

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options configure a Server.
type Options struct {
	// DBPath is the database's name as shown in the page header.
	DBPath string
	// LoopbackOnly refuses requests whose Host is not localhost or a
	// loopback address (set it when listening on loopback).
	LoopbackOnly bool
	// ErrorLog receives the errors of failed requests; nil: discarded.
	ErrorLog *log.Logger
}

// Server serves the pages of one database. It is safe for concurrent use.
type Server struct {
	db    *store.DB
	opts  Options
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New returns a Server reading db, which the caller opened (read-only)
// and closes after the server stops.
func New(db *store.DB, opts Options) (*Server, error) {
	if opts.ErrorLog == nil {
		opts.ErrorLog = log.New(io.Discard, "", 0)
	}
	s := &Server{db: db, opts: opts, pages: map[string]*template.Template{}}
	for _, name := range []string{"list", "run", "compare", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("serve: parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("serve: static files: %w", err)
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handle(s.list))
	m.HandleFunc("GET /runs/{id}", s.handle(s.run))
	m.HandleFunc("GET /runs/{id}/curves.png", s.handle(s.runCurves))
	m.HandleFunc("GET /runs/{id}/confusion.png", s.handle(s.runConfusion))
	m.HandleFunc("GET /compare", s.handle(s.compare))
	m.HandleFunc("GET /compare/curves.png", s.handle(s.compareCurves))
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed: this page is read-only", http.StatusMethodNotAllowed)
			return
		}
		s.renderError(w, r, &httpError{status: http.StatusNotFound, msg: "no page at " + r.URL.Path})
	})
	s.mux = m
	return s, nil
}

// contentPolicy allows this origin's style sheet, script and images only.
const contentPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ServeHTTP answers GET and HEAD requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.LoopbackOnly && !loopbackHost(r.Host) {
		http.Error(w, fmt.Sprintf("403 forbidden: host %q is not a loopback address; this server answers only "+
			"http://127.0.0.1, http://[::1] or http://localhost", r.Host), http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", contentPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// loopbackHost reports whether a Host header names localhost or a
// loopback IP address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpError is an error with the status it is answered with.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// statusOf maps an error to its HTTP status: store.ErrNotFound is 404,
// an *httpError its own, anything else 500.
func statusOf(err error) int {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// handle adapts a handler that returns an error: the error is answered
// as an error page (and logged when it is the server's fault).
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.renderError(w, r, err)
		}
	}
}

// common is what every page's header shows.
type common struct {
	Title  string
	DBPath string
}

func (s *Server) common(title string) common {
	return common{Title: title, DBPath: s.opts.DBPath}
}

// errorPage is the data of error.html.
type errorPage struct {
	common
	Status  int
	Message string
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 {
		s.opts.ErrorLog.Printf("%s %s: %v", r.Method, r.URL, err)
	}
	if strings.HasSuffix(r.URL.Path, ".png") {
		http.Error(w, err.Error(), status)
		return
	}
	s.render(w, "error", status, errorPage{common: s.common(http.StatusText(status)), Status: status, Message: err.Error()})
}

// render executes a page into a buffer first, so that a template error
// becomes a 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, page string, status int, data any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.opts.ErrorLog.Printf("render %s: %v", page, err)
		http.Error(w, "500 internal error: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writePNG answers an image that reflects the database now.
func writePNG(w http.ResponseWriter, png []byte) {
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(png)
}
