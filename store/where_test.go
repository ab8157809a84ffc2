package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCompileWhere(t *testing.T) {
	const p = paramExpr
	cases := []struct {
		expr string
		sql  string
		args []any
	}{
		{"linear_f1 > 0.8", "(s.linear_f1 > ?)", []any{0.8}},
		{"head = 'nonlinear' and linear_f1 > 0.8", "(" + p + " = ? AND s.linear_f1 > ?)", []any{"head", "nonlinear", 0.8}},
		{"status = 'failed' or status='interrupted'", "(s.status = ? OR s.status = ?)", []any{"failed", "interrupted"}},
		{"NOT (seed <> 3)", "(NOT (s.seed <> ?))", []any{int64(3)}},
		{"seed != -2", "(s.seed <> ?)", []any{int64(-2)}},
		{"batch_size >= 128 and batch_size <= 1e3", "(" + p + " >= ? AND " + p + " <= ?)", []any{"batch_size", int64(128), "batch_size", 1000.0}},
		{"label like '%crop%'", "(s.label LIKE ?)", []any{"%crop%"}},
		{"label not like 'a''b'", "(s.label NOT LIKE ?)", []any{"a'b"}},
		{"finetune_f1 is null or finetune_f1 is not null", "(s.finetune_f1 IS NULL OR s.finetune_f1 IS NOT NULL)", nil},
		{"seed = 1 or seed = 2 and seed = 3", "(s.seed = ? OR s.seed = ? AND s.seed = ?)", []any{int64(1), int64(2), int64(3)}},
		{"(linear_f1 > .5 or finetune_f1 > .5) and id = 7", "((s.linear_f1 > ? OR s.finetune_f1 > ?) AND s.run_id = ?)", []any{0.5, 0.5, int64(7)}},
		{"temperature = 0.5 or head = 'x'' OR 1=1 --'", "(" + p + " = ? OR " + p + " = ?)", []any{"temperature", 0.5, "head", "x' OR 1=1 --"}},
		{"1 = 1", "(? = ?)", []any{int64(1), int64(1)}},
	}
	for _, c := range cases {
		sql, args, err := compileWhere(c.expr)
		if err != nil {
			t.Errorf("compileWhere(%q) error = %v", c.expr, err)
			continue
		}
		if sql != c.sql || !reflect.DeepEqual(args, c.args) {
			t.Errorf("compileWhere(%q) = %q, %#v, want %q, %#v", c.expr, sql, args, c.sql, c.args)
		}
	}
}

func TestCompileWhereErrors(t *testing.T) {
	cases := []struct {
		expr string
		pos  int
		msg  string
	}{
		{"", 0, "empty expression"},
		{"   ", 0, "empty expression"},
		{"foo = 1", 0, `unknown name "foo" (valid: `},
		{"a = 1 or b = 2", 0, `unknown name "a"`},
		{"head = \"nonlinear\"", 7, "single quotes"},
		{"head = 'nonlinear", 7, "unterminated string"},
		{"head = 'x'; DROP TABLE runs", 10, `unexpected ';'`},
		{"head = 'x' -- comment", 11, `bad number "-"`},
		{"head = 'x' /* c */", 11, `unexpected '/'`},
		{"runs.id = 1", 4, `unexpected '.'`},
		{"runs.status = 'x'", 4, `unexpected '.'`},
		{"sqlite_master = 1", 0, `unknown name "sqlite_master"`},
		{"abs(seed) = 1", 0, `unknown name "abs"`},
		{"seed (1) = 1", 5, "expected a comparison"},
		{"seed = 1 seed = 2", 9, `unexpected "seed"`},
		{"linear_f1", 9, "expected a comparison"},
		{"linear_f1 >", 11, "expected a name, string or number, got end of expression"},
		{"(linear_f1 > 1", 14, `expected ")"`},
		{"linear_f1 > 1)", 13, `unexpected ")"`},
		{"seed = 1 and", 12, "expected a name"},
		{"seed ! 1", 5, `"!" must be followed by "="`},
		{"seed = 1.2.3", 7, `bad number "1.2.3"`},
		{"seed is 3", 8, "expected null after is"},
		{"seed not 3", 9, "expected like after not"},
		{"and = 1", 0, "expected a name, string or number"},
		{"seed = 1 or 1 = 1; delete from runs", 17, `unexpected ';'`},
		{"status = 'x' union select 1", 13, `unexpected "union"`},
		{"seed in (1, 2)", 10, `unexpected ','`},
		{"seed in (1)", 5, "expected a comparison"},
	}
	for _, c := range cases {
		sql, args, err := compileWhere(c.expr)
		var we *WhereError
		if !errors.As(err, &we) {
			t.Errorf("compileWhere(%q) = %q, %v, %v, want a *WhereError", c.expr, sql, args, err)
			continue
		}
		if we.Pos != c.pos || !strings.Contains(we.Msg, c.msg) {
			t.Errorf("compileWhere(%q) = error at %d %q, want at %d containing %q", c.expr, we.Pos, we.Msg, c.pos, c.msg)
		}
	}
	// The unknown-name error lists columns and settings.
	_, _, err := compileWhere("colour = 'x'")
	for _, name := range []string{"linear_f1", "finetune_f1", "status", "label", "head", "batch_size", "augment", "temperature"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("compileWhere(colour = 'x') = %v, want the valid names to include %s", err, name)
		}
	}
}
