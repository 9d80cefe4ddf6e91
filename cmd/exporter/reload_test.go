package main

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Reloads are observable as Prometheus's own are: the outcome of the last
// attempt and the time of the last success, which a failed attempt leaves
// alone.
func TestReloadMetrics(t *testing.T) {
	if err := server.Exec(context.Background(), testSchema); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mlmon.yml")
	writeConfig(t, path, server.Addr(), "first")
	before := float64(time.Now().Unix())
	exp := runExporter(t, exporterOpts{config: path})
	after := float64(time.Now().Unix() + 1)

	got := exp.metrics("10")
	if v, ok := got["mlmon_config_last_reload_successful{}"]; !ok || v != 1 {
		t.Errorf("after the first load: mlmon_config_last_reload_successful = %v (present %v), want 1", v, ok)
	}
	loaded := got["mlmon_config_last_reload_success_timestamp_seconds{}"]
	if loaded < before || loaded > after {
		t.Errorf("first load at %v, outside [%v, %v]", loaded, before, after)
	}

	writeFile(t, filepath.Dir(path), "mlmon.yml", "models: [{name: broken")
	post := func() int {
		resp, err := exp.do("POST", "/-/reload", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusInternalServerError {
		t.Fatalf("invalid reload answered %d", code)
	}
	got = exp.metrics("10")
	want(t, got, map[string]float64{
		"mlmon_config_last_reload_successful{}":                0,
		"mlmon_config_last_reload_success_timestamp_seconds{}": loaded,
		`mlmon_scrape_success{model="first"}`:                  1,
	})

	time.Sleep(1100 * time.Millisecond) // the next success has a later second
	writeConfig(t, path, server.Addr(), "second")
	if code := post(); code != http.StatusOK {
		t.Fatalf("valid reload answered %d", code)
	}
	got = exp.metrics("10")
	if got["mlmon_config_last_reload_successful{}"] != 1 {
		t.Errorf("after a valid reload: mlmon_config_last_reload_successful = %v, want 1", got["mlmon_config_last_reload_successful{}"])
	}
	if ts := got["mlmon_config_last_reload_success_timestamp_seconds{}"]; ts < loaded+1 || ts > float64(time.Now().Unix()+1) {
		t.Errorf("after a valid reload the success time is %v; the first load was at %v", ts, loaded)
	}
}

// SIGHUP and POST /-/reload at the same moment, round after round, each
// round after an edit: every reload reads the file and swaps the target as
// one step, so once both have answered the running configuration is the
// file's latest, never an older one that a slower concurrent reload read
// before the edit and swapped in after.
func TestConcurrentReloads(t *testing.T) {
	if err := server.Exec(context.Background(), testSchema); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mlmon.yml")
	writeConfig(t, path, server.Addr(), "r0")
	exp := runExporter(t, exporterOpts{config: path})
	for round := 1; round <= 10; round++ {
		name := "r" + string(rune('0'+round%10)) + "x"
		writeConfig(t, path, server.Addr(), name)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := exp.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			resp, err := exp.do("POST", "/-/reload", nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("round %d: reload answered %d", round, resp.StatusCode)
			}
		}()
		wg.Wait()
		// The SIGHUP's reload may still be queued behind the POST's: wait
		// until both were logged.
		deadline := time.Now().Add(5 * time.Second)
		for len(logsWith(exp.logLines(), map[string]string{"msg": "configuration loaded"})) < 1+2*round {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d reloads logged, want %d\n%s", round, len(logsWith(exp.logLines(), map[string]string{"msg": "configuration loaded"})), 1+2*round, exp.logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		got := exp.metrics("10")
		if got[`mlmon_scrape_success{model="`+name+`"}`] != 1 {
			t.Fatalf("round %d: model %s not running after both reloads:\n%v", round, name, got)
		}
		if got["mlmon_config_last_reload_successful{}"] != 1 {
			t.Errorf("round %d: last reload not successful", round)
		}
	}
}
