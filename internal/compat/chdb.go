//go:build chdb

package compat

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

// The subset of chDB's C API (chdb.h of chdb-io/chdb-core, stable since
// chDB 3.x) that the test uses. The npm package ships libchdb.so without the
// header, so the declarations live here, and the library is loaded with
// dlopen: nothing to link, no CGO_CFLAGS/CGO_LDFLAGS to get right.
typedef struct chdb_result_ { void *internal_data; } chdb_result;
typedef struct chdb_connection_ { void *internal_data; } *chdb_connection;

static void *chdb_lib;
static chdb_connection *(*p_connect)(int, char **);
static void (*p_close_conn)(chdb_connection *);
static chdb_result *(*p_query_n)(chdb_connection, const char *, size_t, const char *, size_t);
static char *(*p_result_buffer)(chdb_result *);
static size_t (*p_result_length)(chdb_result *);
static const char *(*p_result_error)(chdb_result *);
static void (*p_destroy_query_result)(chdb_result *);
static void (*p_set_signal_handlers_enabled)(int);

// chdb_load opens the library and resolves the functions; it returns NULL
// or what failed.
static const char *chdb_load(const char *path) {
	if (chdb_lib) return NULL;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) return dlerror();
#define SYM(var, name) if (!(*(void **)(&var) = dlsym(h, name))) return "symbol " name " not found";
	SYM(p_connect, "chdb_connect")
	SYM(p_close_conn, "chdb_close_conn")
	SYM(p_query_n, "chdb_query_n")
	SYM(p_result_buffer, "chdb_result_buffer")
	SYM(p_result_length, "chdb_result_length")
	SYM(p_result_error, "chdb_result_error")
	SYM(p_destroy_query_result, "chdb_destroy_query_result")
#undef SYM
	// Optional: keeps chDB from installing process-wide signal handlers over
	// the Go runtime's.
	*(void **)(&p_set_signal_handlers_enabled) = dlsym(h, "chdb_set_signal_handlers_enabled");
	if (p_set_signal_handlers_enabled) p_set_signal_handlers_enabled(0);
	chdb_lib = h;
	return NULL;
}

static chdb_connection *chdb_open(int argc, char **argv) { return p_connect(argc, argv); }
static void chdb_close(chdb_connection *c) { p_close_conn(c); }
static chdb_result *chdb_run(chdb_connection *c, const char *q, size_t n, const char *f, size_t fn) {
	return p_query_n(*c, q, n, f, fn);
}
static char *chdb_buf(chdb_result *r) { return p_result_buffer(r); }
static size_t chdb_len(chdb_result *r) { return p_result_length(r); }
static const char *chdb_err(chdb_result *r) { return p_result_error(r); }
static void chdb_free(chdb_result *r) { p_destroy_query_result(r); }
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"
)

// DefaultChDBDir is where scripts/install-chdb.sh installs chDB.
const DefaultChDBDir = "/opt/mlmon-chdb"

// LibChDB finds libchdb.so in $MLMON_CHDB_DIR (default DefaultChDBDir) or
// its lib/ subdirectory, where scripts/install-chdb.sh puts it.
func LibChDB() (string, error) {
	dir := os.Getenv("MLMON_CHDB_DIR")
	if dir == "" {
		dir = DefaultChDBDir
	}
	for _, p := range []string{filepath.Join(dir, "libchdb.so"), filepath.Join(dir, "lib", "libchdb.so")} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("libchdb.so not found in %s or %s/lib: run scripts/install-chdb.sh (or set MLMON_CHDB_DIR)", dir, dir)
}

// ChDB is a chDB session: the current ClickHouse engine in this process,
// with its data in a directory. The engine allows one data path per process.
type ChDB struct {
	mu   sync.Mutex
	conn *C.chdb_connection
}

// OpenChDB loads the library at lib and opens a session whose databases live
// in dir.
func OpenChDB(lib, dir string) (*ChDB, error) {
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	if msg := C.chdb_load(clib); msg != nil {
		return nil, fmt.Errorf("load %s: %s", lib, C.GoString(msg))
	}
	args := []string{"clickhouse", "--path=" + dir}
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
		defer C.free(unsafe.Pointer(argv[i]))
	}
	conn := C.chdb_open(C.int(len(args)), &argv[0])
	if conn == nil {
		return nil, errors.New("chdb_connect failed")
	}
	c := &ChDB{conn: conn}
	// Output every cell exactly: 64-bit integers as JSON numbers, NaN and
	// infinities as strings (JSON has no literal for them), times in UTC.
	err := c.Exec("SET output_format_json_quote_64bit_integers = 0",
		"SET output_format_json_quote_denormals = 1",
		"SET session_timezone = 'UTC'")
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close ends the session.
func (c *ChDB) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		C.chdb_close(c.conn)
		c.conn = nil
	}
}

// Raw runs one statement and returns its output in format.
func (c *ChDB) Raw(sql, format string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, errors.New("chdb: session closed")
	}
	q, f := C.CString(sql), C.CString(format)
	defer C.free(unsafe.Pointer(q))
	defer C.free(unsafe.Pointer(f))
	res := C.chdb_run(c.conn, q, C.size_t(len(sql)), f, C.size_t(len(format)))
	if res == nil {
		return nil, errors.New("chdb: no result")
	}
	defer C.chdb_free(res)
	if msg := C.chdb_err(res); msg != nil {
		return nil, errors.New(C.GoString(msg))
	}
	n := C.chdb_len(res)
	if n == 0 {
		return nil, nil
	}
	return C.GoBytes(unsafe.Pointer(C.chdb_buf(res)), C.int(n)), nil
}

// Exec runs statements, failing on the first error.
func (c *ChDB) Exec(stmts ...string) error {
	for _, s := range stmts {
		if _, err := c.Raw(s, "JSONCompact"); err != nil {
			return fmt.Errorf("chdb: %w\n%s", err, s)
		}
	}
	return nil
}

// Query runs a SELECT and returns its result.
func (c *ChDB) Query(sql string) (*Result, error) {
	out, err := c.Raw(sql, "JSONCompact")
	if err != nil {
		return nil, err
	}
	return ParseJSONCompact(out)
}
