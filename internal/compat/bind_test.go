package compat

import (
	"strings"
	"testing"
)

func TestBind(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		args []any
		want string
	}{
		{"SELECT ?, ?, ?", []any{"plain", int64(-7), uint64(18446744073709551615)}, "SELECT 'plain', -7, 18446744073709551615"},
		{"x = ?", []any{`it's a \ and a` + "\x00"}, `x = 'it\'s a \\ and a\0'`},
		{"has(?, c)", []any{[]string{"a'", `b\`, ""}}, `has(['a\'', 'b\\', ''], c)`},
		{"has(?, c)", []any{[]string{}}, "has([], c)"},
		{"x = 'what?' AND y = ?", []any{"1"}, "x = 'what?' AND y = '1'"},
		{`x = 'it\'s?' AND y = ?`, []any{"1"}, `x = 'it\'s?' AND y = '1'`},
		{"x = 'a''?' AND y = ?", []any{"1"}, "x = 'a''?' AND y = '1'"},
		{"SELECT `we?rd` + ?", []any{1}, "SELECT `we?rd` + 1"},
		{"SELECT \"q?\" -- ?\n, ? /* ? /* ? */ ? */", []any{2}, "SELECT \"q?\" -- ?\n, 2 /* ? /* ? */ ? */"},
		{`SELECT \? + ?`, []any{3}, `SELECT ? + 3`},
		{`SELECT 'a\?' + ?`, []any{3}, `SELECT 'a?' + 3`},
		{"toDateTime(?)", []any{int64(1780315200)}, "toDateTime(1780315200)"},
		{"SELECT 1", nil, "SELECT 1"},
	} {
		got, err := Bind(tc.sql, tc.args...)
		if err != nil || got != tc.want {
			t.Errorf("Bind(%q, %#v) = %q, %v; want %q", tc.sql, tc.args, got, err, tc.want)
		}
	}
}

func TestBindRefuses(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		args []any
		msg  string
	}{
		{"SELECT ?, ?", []any{1}, "more '?'"},
		{"SELECT ?", []any{1, 2}, "2 arguments for 1"},
		{"SELECT ?", []any{1.5}, "unsupported type float64"},
		{"SELECT ?", []any{[]int{1}}, "unsupported type []int"},
	} {
		if _, err := Bind(tc.sql, tc.args...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Bind(%q, %v): error %v, want one saying %q", tc.sql, tc.args, err, tc.msg)
		}
	}
}
