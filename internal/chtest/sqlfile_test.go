package chtest

import (
	"strings"
	"testing"
)

func TestSplitSQL(t *testing.T) {
	got := SplitSQL("-- header; with a semicolon\nCREATE TABLE a (x UInt8) -- trailing\nENGINE = Memory;\n\n;\n  SELECT 1  ;\n-- end\n")
	want := []string{"CREATE TABLE a (x UInt8) \nENGINE = Memory", "SELECT 1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("SplitSQL = %q, want %q", got, want)
	}
}
