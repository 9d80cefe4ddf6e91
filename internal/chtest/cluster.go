package chtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlmon/mlmon/internal/freeport"
)

// Clusters names the clusters a set of servers knows: cluster name → its
// shards → the indexes (into the servers started) of each shard's replicas.
// Replicas are plain copies, without ZooKeeper: a Distributed table writes
// every replica itself (internal_replication false) and reads one.
type Clusters map[string][][]int

// check says what is wrong with clusters over n servers.
func (c Clusters) check(n int) error {
	for name, shards := range c {
		for _, replicas := range shards {
			if len(replicas) == 0 {
				return fmt.Errorf("cluster %s: a shard without replicas", name)
			}
			for _, i := range replicas {
				if i < 0 || i >= n {
					return fmt.Errorf("cluster %s: no server %d of %d", name, i, n)
				}
			}
		}
	}
	return nil
}

// ClusterOptions change how a cluster's servers are set up.
type ClusterOptions struct {
	// Via names, for some servers, the loopback port at which the others
	// reach them (a counting proxy in front of the server, say).
	Via map[int]int
	// UsersD are files (name → content) for every server's users.d.
	UsersD map[string]string
}

// StartCluster starts n servers under dir that all know clusters, so that
// Distributed tables over them work as on a real cluster. Each server runs
// from a copy of the packaged configuration with a config.d file holding
// its remote_servers.
func StartCluster(dir string, n int, clusters Clusters) ([]*Server, error) {
	return StartClusterWith(dir, n, clusters, ClusterOptions{})
}

// StartClusterWith is StartCluster with options.
func StartClusterWith(dir string, n int, clusters Clusters, opts ClusterOptions) ([]*Server, error) {
	if err := clusters.check(n); err != nil {
		return nil, err
	}
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	// A port found free can be taken by a parallel test package before a
	// server binds it: such a start is retried on other ports.
	for attempt := 1; ; attempt++ {
		servers, err := startCluster(dir, bin, n, clusters, opts)
		if err == nil {
			return servers, nil
		}
		if !strings.Contains(err.Error(), "Address already in use") || attempt == 3 {
			return nil, err
		}
	}
}

func startCluster(dir string, bin []string, n int, clusters Clusters, opts ClusterOptions) ([]*Server, error) {
	ports, err := freeport.Ports(3 * n)
	if err != nil {
		return nil, err
	}
	servers := make([]*Server, n)
	for i := range servers {
		servers[i] = &Server{Dir: filepath.Join(dir, fmt.Sprintf("server%d", i)),
			TCPPort: ports[3*i], HTTPPort: ports[3*i+1], interPort: ports[3*i+2], bin: bin}
	}
	for _, s := range servers {
		if s.config, err = writeClusterConfig(s.Dir, servers, clusters, opts); err != nil {
			return nil, err
		}
	}
	for i, s := range servers {
		if err := s.start(); err != nil {
			for _, started := range servers[:i] {
				started.Stop()
			}
			return nil, fmt.Errorf("server %d of the cluster: %w", i, err)
		}
	}
	return servers, nil
}

// writeClusterConfig copies the packaged config.xml and users.xml into
// dir/etc and adds config.d/mlmon-clusters.xml; it returns the config.xml.
func writeClusterConfig(dir string, servers []*Server, clusters Clusters, opts ClusterOptions) (string, error) {
	etc := filepath.Join(dir, "etc")
	for _, sub := range []string{"config.d", "users.d"} {
		if err := os.MkdirAll(filepath.Join(etc, sub), 0o755); err != nil {
			return "", err
		}
	}
	for name, content := range opts.UsersD {
		if err := os.WriteFile(filepath.Join(etc, "users.d", name), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	main, err := os.ReadFile(ConfigFile)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(etc, "config.xml"), main, 0o644); err != nil {
		return "", err
	}
	// users.xml is named relative to config.xml.
	users, err := os.ReadFile(filepath.Join(filepath.Dir(ConfigFile), "users.xml"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err == nil {
		if err := os.WriteFile(filepath.Join(etc, "users.xml"), users, 0o644); err != nil {
			return "", err
		}
	}
	if err := writeRemoteServers(etc, main, servers, clusters, opts); err != nil {
		return "", err
	}
	return filepath.Join(etc, "config.xml"), nil
}

// writeRemoteServers writes config.d/mlmon-clusters.xml under etc, next to
// the main configuration main.
func writeRemoteServers(etc string, main []byte, servers []*Server, clusters Clusters, opts ClusterOptions) error {
	// 18.16's root element is <yandex>, current releases' <clickhouse>;
	// a config.d file must use its main file's.
	root := "yandex"
	if bytes.Contains(main, []byte("<clickhouse>")) {
		root = "clickhouse"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%s>\n  <remote_servers replace=\"1\">\n", root)
	names := make([]string, 0, len(clusters))
	for name := range clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "    <%s>\n", name)
		for _, replicas := range clusters[name] {
			b.WriteString("      <shard>\n        <internal_replication>false</internal_replication>\n")
			for _, i := range replicas {
				port := servers[i].TCPPort
				if p, ok := opts.Via[i]; ok {
					port = p
				}
				fmt.Fprintf(&b, "        <replica><host>127.0.0.1</host><port>%d</port></replica>\n", port)
			}
			b.WriteString("      </shard>\n")
		}
		fmt.Fprintf(&b, "    </%s>\n", name)
	}
	fmt.Fprintf(&b, "  </remote_servers>\n</%s>\n", root)
	return os.WriteFile(filepath.Join(etc, "config.d", "mlmon-clusters.xml"), []byte(b.String()), 0o644)
}

// SetClusters rewrites the clusters every server knows, as an operator
// edits remote_servers: the servers reload it by themselves within seconds.
func SetClusters(servers []*Server, clusters Clusters, opts ClusterOptions) error {
	if err := clusters.check(len(servers)); err != nil {
		return err
	}
	for _, s := range servers {
		etc := filepath.Join(s.Dir, "etc")
		main, err := os.ReadFile(filepath.Join(etc, "config.xml"))
		if err != nil {
			return err
		}
		if err := writeRemoteServers(etc, main, servers, clusters, opts); err != nil {
			return err
		}
	}
	return nil
}

// ExecAll runs statements on every server, failing on the first error.
func ExecAll(ctx context.Context, servers []*Server, stmts ...string) error {
	for i, s := range servers {
		if err := s.Exec(ctx, stmts...); err != nil {
			return fmt.Errorf("server %d: %w", i, err)
		}
	}
	return nil
}

// StopAll stops every server.
func StopAll(servers []*Server) {
	for _, s := range servers {
		s.Stop()
	}
}
