package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlmon/mlmon/internal/chtest"
)

// The server the busy and estimate scenarios read their SQL back from runs
// the packaged profile, with the query log as its one change: any other
// setting would make the floor and the exporter's queries cost what they do
// on no installed server.
func TestLoggingQueriesKeepsThePackagedProfile(t *testing.T) {
	dir := t.TempDir()
	packaged, err := chtest.Start(filepath.Join(dir, "packaged"))
	if err != nil {
		t.Fatal(err)
	}
	defer packaged.Stop()
	b := &bench{dir: dir}
	logging := b.loggingQueries(filepath.Join(dir, "logging")).srv
	defer logging.Stop()

	changed := func(srv *chtest.Server) map[string]string {
		rows, err := srv.Conn().Query(context.Background(), "SELECT name, value FROM system.settings WHERE changed")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, value string
			if err := rows.Scan(&name, &value); err != nil {
				t.Fatal(err)
			}
			out[name] = value
		}
		return out
	}
	want, got := changed(packaged), changed(logging)
	if want["use_uncompressed_cache"] != "0" {
		t.Fatalf("the packaged profile sets %v; this test expects it to turn the uncompressed cache off", want)
	}
	want["log_queries"] = "1"
	for name, value := range want {
		if got[name] != value {
			t.Errorf("%s = %q on the logging server, %q on the packaged one", name, got[name], value)
		}
	}
	for name, value := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s = %q on the logging server only", name, value)
		}
	}
}
