// Package browser drives Debian's headless Chromium for the tests of the
// report pages: the page as a browser builds it (scripts run, markup
// parsed), and a screenshot of it.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// binaries are the names Chromium is installed under (Debian: chromium).
var binaries = []string{"chromium", "chromium-browser", "google-chrome"}

// Find returns the path of a Chromium binary, or an error that says how to
// install one (scripts/install-deps.sh does).
func Find() (string, error) {
	for _, b := range binaries {
		if p, err := exec.LookPath(b); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found (tried %v): apt-get install chromium, or run scripts/install-deps.sh", binaries)
}

// run runs headless Chromium with a fresh profile on url and returns its
// standard output.
func run(ctx context.Context, url string, args ...string) ([]byte, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "mlmon-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir=" + profile, "--window-size=1280,2400"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", bin, err, tail(stderr.Bytes(), 2000))
	}
	return stdout.Bytes(), nil
}

// DumpDOM returns the page's DOM after its load, serialised as HTML.
func DumpDOM(ctx context.Context, url string) (string, error) {
	out, err := run(ctx, url, "--dump-dom")
	return string(out), err
}

// Screenshot writes a PNG of the page to path.
func Screenshot(ctx context.Context, url, path string) error {
	if _, err := run(ctx, url, "--screenshot="+path, "--hide-scrollbars"); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("no screenshot written: %w", err)
	}
	if st.Size() == 0 {
		return fmt.Errorf("empty screenshot %s", path)
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
