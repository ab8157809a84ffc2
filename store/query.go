package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Query runs one read-only SQL statement (for `report query`) and returns
// its column names and rows; values are int64, float64, string, []byte or
// nil. Anything else is refused with an error wrapping ErrRefused, and the
// database is unchanged. Four guards, each enough alone for the common
// cases:
//
//  1. the text must be a single statement starting with SELECT, WITH,
//     VALUES or EXPLAIN (comments and string literals are skipped, so
//     "select 1; delete from runs" is refused before anything runs);
//  2. while it is prepared, an SQLite authorizer allows only reads
//     (SELECT, READ, FUNCTION other than load_extension, recursive CTEs;
//     pragma table functions such as pragma_table_info are reads): ATTACH,
//     PRAGMA, INSERT, UPDATE, DELETE, DROP, CREATE, ... are denied;
//  3. sqlite3_stmt_readonly must say the statement does not write;
//  4. it runs with PRAGMA query_only on (and, from OpenReadOnly, on a
//     connection opened with mode=ro).
func (db *DB) Query(ctx context.Context, query string, args ...any) (cols []string, rows [][]any, err error) {
	if err := checkSingleRead(query); err != nil {
		return nil, nil, err
	}
	return db.guardedQuery(ctx, query, args...)
}

// guardedQuery is Query without the text check: guards 2 to 4.
func (db *DB) guardedQuery(ctx context.Context, query string, args ...any) (cols []string, rows [][]any, err error) {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", db.path, err)
	}
	defer conn.Close()

	if !db.readOnly {
		if _, err := conn.ExecContext(ctx, "PRAGMA query_only = ON"); err != nil {
			return nil, nil, fmt.Errorf("query %s: %w", db.path, err)
		}
	}
	// Put the pooled connection back as it was; if that fails, drop it.
	defer func() {
		conn.Raw(func(dc any) error {
			if sc, ok := dc.(*sqlite3.SQLiteConn); ok {
				sc.RegisterAuthorizer(nil)
			}
			return nil
		})
		if db.readOnly {
			return
		}
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA query_only = OFF"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()

	var denied []string
	auth := func(op int, arg1, arg2, _ string) int {
		if ok, what := readAllowed(op, arg1, arg2); !ok {
			denied = append(denied, what)
			return sqlite3.SQLITE_DENY
		}
		return sqlite3.SQLITE_OK
	}
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		sc.RegisterAuthorizer(auth)
		st, err := sc.Prepare(query)
		if err != nil {
			return err
		}
		defer st.Close()
		if ss, ok := st.(*sqlite3.SQLiteStmt); ok && !ss.Readonly() {
			return fmt.Errorf("%w: the statement would write to the database (only reads are allowed)", ErrRefused)
		}
		return nil
	})
	if err == nil {
		cols, rows, err = scanAll(conn.QueryContext(ctx, query, args...))
	}
	if len(denied) > 0 {
		return nil, nil, fmt.Errorf("query %s: %w: not allowed in a read-only query: %s", db.path, ErrRefused, strings.Join(denied, ", "))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", db.path, err)
	}
	return cols, rows, nil
}

// query runs trusted SQL of this package and returns every row.
func (db *DB) query(ctx context.Context, q string, args ...any) ([]string, [][]any, error) {
	return scanAll(db.db.QueryContext(ctx, q, args...))
}

func scanAll(rs *sql.Rows, err error) ([]string, [][]any, error) {
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, nil, err
	}
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		out = append(out, vals)
	}
	return cols, out, rs.Err()
}

const sqliteRecursive = 33 // SQLITE_RECURSIVE, not exported by go-sqlite3

// readAllowed is the authorizer policy of Query: reads only.
func readAllowed(op int, arg1, arg2 string) (bool, string) {
	switch op {
	case sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqliteRecursive:
		return true, ""
	case sqlite3.SQLITE_FUNCTION:
		if strings.EqualFold(arg2, "load_extension") {
			return false, "load_extension()"
		}
		return true, ""
	case sqlite3.SQLITE_PRAGMA:
		// PRAGMA statements are refused by the text check; this sees the
		// pragma table functions (SELECT * FROM pragma_table_info('runs')),
		// which run their pragma inside. Allow those that only read.
		name := strings.ToLower(arg1)
		if readPragmas[name] || (arg2 == "" && readPragmasNoArg[name]) {
			return true, ""
		}
		return false, "PRAGMA " + arg1
	}
	name, ok := authNames[op]
	if !ok {
		name = fmt.Sprintf("operation %d", op)
	}
	if arg1 != "" {
		name += " " + arg1
	}
	return false, name
}

// readPragmas only read, whatever their argument (a table or index name,
// or a limit on the errors reported).
var readPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true, "index_info": true, "index_xinfo": true,
	"index_list": true, "foreign_key_list": true, "foreign_key_check": true, "integrity_check": true, "quick_check": true,
}

// readPragmasNoArg only read when given no argument.
var readPragmasNoArg = map[string]bool{
	"database_list": true, "collation_list": true, "function_list": true, "module_list": true, "pragma_list": true,
	"compile_options": true, "user_version": true, "schema_version": true, "application_id": true, "page_count": true,
	"page_size": true, "freelist_count": true, "encoding": true, "journal_mode": true, "foreign_keys": true, "data_version": true,
}

var authNames = map[int]string{
	sqlite3.SQLITE_INSERT: "INSERT into", sqlite3.SQLITE_UPDATE: "UPDATE of", sqlite3.SQLITE_DELETE: "DELETE from",
	sqlite3.SQLITE_CREATE_INDEX: "CREATE INDEX", sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE",
	sqlite3.SQLITE_CREATE_TEMP_INDEX: "CREATE TEMP INDEX", sqlite3.SQLITE_CREATE_TEMP_TABLE: "CREATE TEMP TABLE",
	sqlite3.SQLITE_CREATE_TEMP_TRIGGER: "CREATE TEMP TRIGGER", sqlite3.SQLITE_CREATE_TEMP_VIEW: "CREATE TEMP VIEW",
	sqlite3.SQLITE_CREATE_TRIGGER: "CREATE TRIGGER", sqlite3.SQLITE_CREATE_VIEW: "CREATE VIEW",
	sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE", sqlite3.SQLITE_DROP_INDEX: "DROP INDEX",
	sqlite3.SQLITE_DROP_TABLE: "DROP TABLE", sqlite3.SQLITE_DROP_TEMP_INDEX: "DROP TEMP INDEX",
	sqlite3.SQLITE_DROP_TEMP_TABLE: "DROP TEMP TABLE", sqlite3.SQLITE_DROP_TEMP_TRIGGER: "DROP TEMP TRIGGER",
	sqlite3.SQLITE_DROP_TEMP_VIEW: "DROP TEMP VIEW", sqlite3.SQLITE_DROP_TRIGGER: "DROP TRIGGER",
	sqlite3.SQLITE_DROP_VIEW: "DROP VIEW", sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
	sqlite3.SQLITE_TRANSACTION: "transaction control", sqlite3.SQLITE_ATTACH: "ATTACH",
	sqlite3.SQLITE_DETACH: "DETACH", sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE", sqlite3.SQLITE_REINDEX: "REINDEX",
	sqlite3.SQLITE_ANALYZE: "ANALYZE", sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT", sqlite3.SQLITE_COPY: "COPY",
}

// checkSingleRead refuses text that is not exactly one statement starting
// with SELECT, WITH, VALUES or EXPLAIN. It skips comments, string literals
// and quoted identifiers, so a ";" inside them does not count.
func checkSingleRead(query string) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("query: %w: %s (only one SELECT, WITH, VALUES or EXPLAIN statement is allowed)", ErrRefused, fmt.Sprintf(format, args...))
	}
	var first string
	ended := false // a top-level ";" was seen
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				i = len(query)
			} else {
				i += j + 1
			}
			continue
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				i = len(query) // SQLite accepts an unterminated comment at the end
			} else {
				i += j + 4
			}
			continue
		}
		if ended {
			return refuse("more than one statement")
		}
		switch {
		case c == ';':
			ended = true
			i++
		case c == '\'' || c == '"' || c == '`' || c == '[':
			end := byte(c)
			if c == '[' {
				end = ']'
			}
			j := i + 1
			for {
				k := strings.IndexByte(query[j:], end)
				if k < 0 {
					return refuse("unterminated quote")
				}
				j += k + 1
				if end != ']' && j < len(query) && query[j] == end { // doubled quote
					j++
					continue
				}
				break
			}
			i = j
		case isWordByte(c):
			j := i
			for j < len(query) && isWordByte(query[j]) {
				j++
			}
			if first == "" {
				first = strings.ToUpper(query[i:j])
			}
			i = j
		default:
			if first == "" {
				return refuse("it starts with %q", c)
			}
			i++
		}
	}
	switch first {
	case "SELECT", "WITH", "VALUES", "EXPLAIN":
		return nil
	case "":
		return refuse("empty query")
	}
	return refuse("%s statements change the database or its connection", first)
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80
}
