package chquery

import (
	"testing"

	"github.com/mlmon/mlmon/internal/config"
)

func TestParseDistributed(t *testing.T) {
	for _, tc := range []struct {
		engineFull string
		want       Distributed
	}{
		// As 18.16 prints it (system.tables of a real server).
		{"Distributed(mlmon, default, p_local, cityHash64(request_id))",
			Distributed{Cluster: "mlmon", Database: "default", Table: "p_local", ShardingKey: "cityHash64(request_id)"}},
		// As current releases print it, with a storage policy and settings.
		{"Distributed('two', 'colo', 'preds_local', cityHash64(`request_id`, 'a,b'), 'policy') SETTINGS fsync_after_insert = 0",
			Distributed{Cluster: "two", Database: "colo", Table: "preds_local", ShardingKey: "cityHash64(`request_id`, 'a,b')"}},
		{"Distributed(c, db, t)", Distributed{Cluster: "c", Database: "db", Table: "t"}},
	} {
		got, err := ParseDistributed(tc.engineFull)
		if err != nil || got != tc.want {
			t.Errorf("ParseDistributed(%q) = %+v, %v; want %+v", tc.engineFull, got, err, tc.want)
		}
	}
	for _, bad := range []string{"MergeTree ORDER BY ts", "Distributed(c, db", "Distributed(c)"} {
		if d, err := ParseDistributed(bad); err == nil {
			t.Errorf("ParseDistributed(%q) = %+v, want an error", bad, d)
		}
	}
}

func TestChooseJoin(t *testing.T) {
	dist := func(cluster, key string) TableInfo {
		return TableInfo{Engine: "Distributed", Distributed: &Distributed{Cluster: cluster, Database: "db", Table: "t_local", ShardingKey: key}}
	}
	local := TableInfo{Engine: "MergeTree"}
	for _, tc := range []struct {
		name          string
		forced        string
		preds, labels TableInfo
		predID, lblID string
		want          JoinStrategy
	}{
		{"one server", config.JoinAuto, local, local, "id", "id", JoinSingle},
		{"one server, forced", config.JoinLocal, local, local, "id", "id", JoinSingle},
		{"co-located", config.JoinAuto, dist("c", "cityHash64(request_id)"), dist("c", "cityHash64(`request_id`)"), "request_id", "request_id", JoinLocal},
		{"co-located, ids named apart", config.JoinAuto, dist("c", "cityHash64(rid) % 16"), dist("c", "cityHash64(request_id)%16"), "rid", "request_id", JoinLocal},
		{"co-located, forced global", config.JoinGlobal, dist("c", "cityHash64(id)"), dist("c", "cityHash64(id)"), "id", "id", JoinGlobal},
		{"another function", config.JoinAuto, dist("c", "cityHash64(id)"), dist("c", "sipHash64(id)"), "id", "id", JoinGlobal},
		{"another cluster", config.JoinAuto, dist("c", "cityHash64(id)"), dist("d", "cityHash64(id)"), "id", "id", JoinGlobal},
		{"random", config.JoinAuto, dist("c", "rand()"), dist("c", "rand()"), "id", "id", JoinGlobal},
		{"random beside the id", config.JoinAuto, dist("c", "cityHash64(id) + rand()"), dist("c", "cityHash64(id) + rand()"), "id", "id", JoinGlobal},
		{"another column", config.JoinAuto, dist("c", "cityHash64(id, model)"), dist("c", "cityHash64(id, model)"), "id", "id", JoinGlobal},
		{"no key", config.JoinAuto, dist("c", ""), dist("c", ""), "id", "id", JoinGlobal},
		{"labels on one server", config.JoinAuto, dist("c", "cityHash64(id)"), local, "id", "id", JoinGlobal},
		{"predictions on one server", config.JoinAuto, local, dist("c", "cityHash64(id)"), "id", "id", JoinInitiator},
		{"forced initiator", config.JoinInitiator, dist("c", "cityHash64(id)"), dist("c", "cityHash64(id)"), "id", "id", JoinInitiator},
		{"forced local", config.JoinLocal, dist("c", "rand()"), dist("c", "cityHash64(id)"), "id", "id", JoinLocal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := ChooseJoin(tc.forced, tc.preds, tc.labels, tc.predID, tc.lblID, false); got != tc.want {
				t.Errorf("ChooseJoin = %v (%s), want %v", got, why, tc.want)
			}
		})
	}
	// Where the label side cannot be filtered by the window's ids (before
	// 19.4), labels sharded apart are joined on the initiator.
	for _, tc := range []struct {
		name   string
		forced string
		labels TableInfo
		want   JoinStrategy
	}{
		{"apart", config.JoinAuto, dist("c", "cityHash64(label)"), JoinInitiator},
		{"co-located", config.JoinAuto, dist("c", "cityHash64(id)"), JoinLocal},
		{"apart, forced global", config.JoinGlobal, dist("c", "cityHash64(label)"), JoinGlobal},
	} {
		if got, why := ChooseJoin(tc.forced, dist("c", "cityHash64(id)"), tc.labels, "id", "id", true); got != tc.want {
			t.Errorf("%s, labels unfiltered: ChooseJoin = %v (%s), want %v", tc.name, got, why, tc.want)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    bool
	}{
		{"18.16.1", false}, {"19.3.9", false}, {"19.4.0.49", true}, {"19.13.1", true}, {"26.5.1.1", true}, {"", false}, {"v26", false},
	} {
		if got := versionAtLeast(tc.version, 19, 4); got != tc.want {
			t.Errorf("versionAtLeast(%q, 19, 4) = %v, want %v", tc.version, got, tc.want)
		}
	}
}
