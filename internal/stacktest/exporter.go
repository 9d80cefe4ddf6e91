package stacktest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/mlmon/mlmon/internal/freeport"
)

// DemoConfig is the shipped demo configuration the exporter runs with,
// relative to the repository root.
const DemoConfig = "deploy/local/mlmon.yml"

// addrLine is the clickhouse.addr line of the demo configuration.
var addrLine = regexp.MustCompile(`(?m)^(\s*addr:\s*).*$`)

// ExporterConfigFor returns the demo configuration with its ClickHouse
// address replaced and every other byte as shipped, so tests exercise the
// configuration users run.
func ExporterConfigFor(shipped []byte, clickhouseAddr string) ([]byte, error) {
	if n := len(addrLine.FindAll(shipped, -1)); n != 1 {
		return nil, fmt.Errorf("%s: want exactly one addr: line, found %d", DemoConfig, n)
	}
	return addrLine.ReplaceAll(shipped, []byte("${1}["+strconv.Quote(clickhouseAddr)+"]")), nil
}

// defaultExporterArgs are flags the stack gives the exporter before
// Options.ExporterArgs. Prometheus scrapes every second with a one-second
// timeout; the default offset (500ms) would leave ClickHouse half of it,
// which a busy two-core machine running other test packages does not
// always meet, and a failed scrape makes every model series go stale.
var defaultExporterArgs = []string{"--scrape.timeout-offset=150ms"}

func (s *Stack) startExporter() error {
	shipped, err := os.ReadFile(filepath.Join(s.Root, DemoConfig))
	if err != nil {
		return err
	}
	cfg, err := ExporterConfigFor(shipped, s.ClickHouse.Addr())
	if err != nil {
		return err
	}
	s.ExporterConfig = filepath.Join(s.Dir, "mlmon.yml")
	if err := os.WriteFile(s.ExporterConfig, cfg, 0o644); err != nil {
		return err
	}
	if s.ExporterAddr, err = freeport.Addr(); err != nil {
		return err
	}
	args := append([]string{"--config.file=" + s.ExporterConfig, "--web.listen-address=" + s.ExporterAddr}, defaultExporterArgs...)
	s.exporter, err = startProc(s.Dir, "exporter", filepath.Join(s.Dir, "exporter"), append(args, s.opts.ExporterArgs...)...)
	if err != nil {
		return err
	}
	if err := poll(s.exporter, s.opts.Timeout, "exporter /-/ready", func() error {
		return httpOK(s.ExporterURL()+"/-/ready", nil)
	}); err != nil {
		return err
	}
	// One generous scrape before Prometheus's first: it fills the
	// exporter's reference cache, which takes longer than the one-second
	// scrapes allow, so that Prometheus sees complete scrapes from the
	// start.
	warm := http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {strconv.Itoa(int(s.opts.Timeout / time.Second))}}
	if err := httpOK(s.ExporterURL()+"/metrics", warm); err != nil {
		return fmt.Errorf("first scrape of the exporter: %w\n%s", err, s.exporter.tail())
	}
	return nil
}

var client = &http.Client{Timeout: 70 * time.Second}

func httpOK(url string, header http.Header) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if header != nil {
		req.Header = header
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
