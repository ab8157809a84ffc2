package store

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The filter language of RunFilter.Where (its grammar is documented
// there), compiled to SQL over run_summary s with every literal a bound
// parameter.

// whereColumns maps the names a filter may use for run_summary columns to
// SQL over the alias s.
var whereColumns = func() map[string]string {
	m := map[string]string{}
	for _, c := range []string{
		"run_id", "experiment", "label", "grid_index", "settings", "seed", "status", "attempt",
		"linear_acc", "linear_f1", "finetune_acc", "finetune_f1", "finetune_label_fraction",
		"final_loss", "config_hash", "started_at", "ended_at", "heartbeat_at", "duration_s",
		"error", "host", "git_commit",
	} {
		m[c] = "s." + c
	}
	m["id"] = "s.run_id"
	return m
}()

// paramExpr is the SQL of a setting's value for the run s.run_id; the key
// is bound as a parameter.
const paramExpr = "(SELECT COALESCE(p.value_num, p.value) FROM params p WHERE p.run_id = s.run_id AND p.key = ?)"

// whereNames returns every name a filter may use, sorted.
func whereNames() []string {
	seen := map[string]bool{}
	var out []string
	for k := range whereColumns {
		seen[k] = true
		out = append(out, k)
	}
	for _, k := range configKeys {
		if !seen[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// WhereError is a filter expression that does not parse. Pos is the byte
// offset in the expression.
type WhereError struct {
	Expr string
	Pos  int
	Msg  string
}

func (e *WhereError) Error() string {
	return fmt.Sprintf("--where %q: at %d: %s", e.Expr, e.Pos, e.Msg)
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp     // = != <> < <= > >=
	tokLParen // (
	tokRParen // )
)

type token struct {
	kind tokKind
	text string // identifier (lower case), operator, or string/number value
	pos  int
}

func lexWhere(expr string) ([]token, error) {
	var toks []token
	fail := func(pos int, format string, args ...any) ([]token, error) {
		return nil, &WhereError{Expr: expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	i := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == '=':
			toks = append(toks, token{tokOp, "=", i})
			i++
		case c == '!' || c == '<' || c == '>':
			start := i
			i++
			if i < len(expr) && (expr[i] == '=' || (c == '<' && expr[i] == '>')) {
				i++
			}
			op := expr[start:i]
			if op == "!" {
				return fail(start, `"!" must be followed by "=" (use != or not)`)
			}
			toks = append(toks, token{tokOp, op, start})
		case c == '\'':
			start := i
			var sb strings.Builder
			i++
			for {
				if i >= len(expr) {
					return fail(start, "unterminated string")
				}
				if expr[i] == '\'' {
					if i+1 < len(expr) && expr[i+1] == '\'' {
						sb.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				sb.WriteByte(expr[i])
				i++
			}
			toks = append(toks, token{tokString, sb.String(), start})
		case c == '"':
			return fail(i, "strings take single quotes: 'nonlinear'")
		case c == '-' || c == '+' || (c >= '0' && c <= '9') ||
			(c == '.' && i+1 < len(expr) && expr[i+1] >= '0' && expr[i+1] <= '9'):
			start := i
			i++
			for i < len(expr) {
				d := expr[i]
				if (d >= '0' && d <= '9') || d == '.' || d == 'e' || d == 'E' ||
					((d == '-' || d == '+') && (expr[i-1] == 'e' || expr[i-1] == 'E')) {
					i++
					continue
				}
				break
			}
			text := expr[start:i]
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				return fail(start, "bad number %q", text)
			}
			toks = append(toks, token{tokNumber, text, start})
		case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			start := i
			for i < len(expr) && (expr[i] == '_' || (expr[i] >= 'a' && expr[i] <= 'z') ||
				(expr[i] >= 'A' && expr[i] <= 'Z') || (expr[i] >= '0' && expr[i] <= '9')) {
				i++
			}
			toks = append(toks, token{tokIdent, strings.ToLower(expr[start:i]), start})
		default:
			return fail(i, "unexpected %q (allowed: names, 'strings', numbers, = != <> < <= > >= like is null and or not ( ))", c)
		}
	}
	toks = append(toks, token{tokEOF, "", len(expr)})
	return toks, nil
}

type whereParser struct {
	expr string
	toks []token
	i    int
	sb   strings.Builder
	args []any
}

// compileWhere turns a filter expression into an SQL boolean expression
// over run_summary s and its arguments. No text of expr reaches the SQL:
// names map to fixed SQL, literals become parameters.
func compileWhere(expr string) (string, []any, error) {
	toks, err := lexWhere(expr)
	if err != nil {
		return "", nil, err
	}
	p := &whereParser{expr: expr, toks: toks}
	if p.peek().kind == tokEOF {
		return "", nil, &WhereError{Expr: expr, Pos: 0, Msg: "empty expression"}
	}
	if err := p.or(); err != nil {
		return "", nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return "", nil, p.errorf(t, "unexpected %s", describe(t))
	}
	return p.sb.String(), p.args, nil
}

func (p *whereParser) peek() token { return p.toks[p.i] }
func (p *whereParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *whereParser) keyword(word string) bool {
	if t := p.peek(); t.kind == tokIdent && t.text == word {
		p.i++
		return true
	}
	return false
}

func (p *whereParser) errorf(t token, format string, args ...any) error {
	return &WhereError{Expr: p.expr, Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokString:
		return fmt.Sprintf("string '%s'", t.text)
	default:
		return fmt.Sprintf("%q", t.text)
	}
}

func (p *whereParser) or() error {
	p.sb.WriteString("(")
	if err := p.and(); err != nil {
		return err
	}
	for p.keyword("or") {
		p.sb.WriteString(" OR ")
		if err := p.and(); err != nil {
			return err
		}
	}
	p.sb.WriteString(")")
	return nil
}

func (p *whereParser) and() error {
	if err := p.not(); err != nil {
		return err
	}
	for p.keyword("and") {
		p.sb.WriteString(" AND ")
		if err := p.not(); err != nil {
			return err
		}
	}
	return nil
}

func (p *whereParser) not() error {
	if p.keyword("not") {
		p.sb.WriteString("NOT ")
		return p.not()
	}
	if p.peek().kind == tokLParen {
		p.next()
		if err := p.or(); err != nil {
			return err
		}
		if t := p.next(); t.kind != tokRParen {
			return p.errorf(t, "expected \")\", got %s", describe(t))
		}
		return nil
	}
	return p.cmp()
}

var reserved = map[string]bool{"and": true, "or": true, "not": true, "like": true, "is": true, "null": true}

func (p *whereParser) cmp() error {
	if err := p.operand(); err != nil {
		return err
	}
	t := p.peek()
	switch {
	case t.kind == tokOp:
		p.next()
		op := t.text
		if op == "!=" {
			op = "<>"
		}
		p.sb.WriteString(" " + op + " ")
		return p.operand()
	case t.kind == tokIdent && t.text == "is":
		p.next()
		if p.keyword("not") {
			p.sb.WriteString(" IS NOT NULL")
		} else {
			p.sb.WriteString(" IS NULL")
		}
		if !p.keyword("null") {
			return p.errorf(p.peek(), "expected null after is, got %s", describe(p.peek()))
		}
		return nil
	case t.kind == tokIdent && (t.text == "like" || t.text == "not"):
		p.next()
		if t.text == "not" {
			if !p.keyword("like") {
				return p.errorf(p.peek(), "expected like after not, got %s", describe(p.peek()))
			}
			p.sb.WriteString(" NOT")
		}
		p.sb.WriteString(" LIKE ")
		return p.operand()
	default:
		return p.errorf(t, "expected a comparison (= != <> < <= > >= like is), got %s", describe(t))
	}
}

func (p *whereParser) operand() error {
	t := p.next()
	switch t.kind {
	case tokString:
		p.sb.WriteString("?")
		p.args = append(p.args, t.text)
	case tokNumber:
		p.sb.WriteString("?")
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			p.args = append(p.args, n)
		} else {
			f, _ := strconv.ParseFloat(t.text, 64) // checked by the lexer
			p.args = append(p.args, f)
		}
	case tokIdent:
		if reserved[t.text] {
			return p.errorf(t, "expected a name, string or number, got %s", describe(t))
		}
		if col, ok := whereColumns[t.text]; ok {
			p.sb.WriteString(col)
			return nil
		}
		for _, k := range configKeys {
			if k == t.text {
				p.sb.WriteString(paramExpr)
				p.args = append(p.args, k)
				return nil
			}
		}
		return p.errorf(t, "unknown name %q (valid: %s)", t.text, strings.Join(whereNames(), ", "))
	default:
		return p.errorf(t, "expected a name, string or number, got %s", describe(t))
	}
	return nil
}
