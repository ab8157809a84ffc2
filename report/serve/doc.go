// Package serve is the local, read-only web page of report serve: the
// experiments and runs of a results.db, a page per run and a comparison
// of several runs.
//
//	GET /                     experiments, then runs with their varying settings,
//	                          status and scores; sortable and filterable
//	GET /runs/{id}            one run: scores, per-epoch curves, confusion
//	                          matrix, config, provenance, earlier attempts
//	GET /runs/{id}/curves.png         its per-epoch curves
//	GET /runs/{id}/confusion.png      the confusion matrix of one evaluation (?eval=K)
//	GET /compare?id=A&id=B…   2 to 10 runs side by side: scores, settings, curves
//	GET /compare/curves.png?id=A&id=B…
//	GET /static/…             the style sheet and the small script, embedded
//
// The run list is driven by query parameters, so that every view is a URL
// (and a test): experiment=NAME, status=STATUS, where=EXPR (the filter
// language of store.RunFilter.Where, e.g. "linear_f1 > 0.8 and lr = 0.3"),
// set.KEY=VALUE (one setting equal to a value as stored, e.g.
// set.head=nonlinear, set.augment=["crop","color"]; repeatable), sort=COLUMN
// (id, experiment, label, status, seed, linear_f1, linear_acc, finetune_f1,
// finetune_acc, final_loss, duration, started, or set.KEY) and desc=1. The
// page works without JavaScript; the script only submits the filter form
// when a drop-down changes and counts the runs ticked for comparison.
//
// Charts are the ones report build draws (package report/chart), PNG
// images rendered per request. Pages and images are built from the
// store's read functions on every request, so a run a runner writes while
// the page is open appears on reload. The server has no handler that
// writes and answers only GET and HEAD; the database is opened read-only
// by the caller (store.OpenReadOnly).
//
// With Options.LoopbackOnly the server answers only requests whose Host
// header names a loopback address or localhost, so that a web page in the
// user's browser cannot read the results through a DNS name rebound to
// 127.0.0.1. Every page is served with a Content-Security-Policy allowing
// only this origin's style sheet, script and images: the page loads
// nothing from elsewhere and works offline.
package serve
