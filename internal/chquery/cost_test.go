package chquery

import (
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestCostSumsTheThreadGroupsCPU(t *testing.T) {
	var c Cost
	// Two packets as a current server sends them: per-thread increments
	// (thread ids ≠ 0), which the group's (thread 0) already include, and
	// gauges, which are not time.
	c.addProfileEvents([]clickhouse.ProfileEvent{
		{ThreadID: 0, Type: "increment", Name: "UserTimeMicroseconds", Value: 1500},
		{ThreadID: 0, Type: "increment", Name: "SystemTimeMicroseconds", Value: 250},
		{ThreadID: 0, Type: "increment", Name: "SelectedRows", Value: 1000000},
		{ThreadID: 4711, Type: "increment", Name: "UserTimeMicroseconds", Value: 900},
		{ThreadID: 0, Type: "gauge", Name: "MemoryTrackerUsage", Value: 1 << 20},
	})
	c.addProfileEvents([]clickhouse.ProfileEvent{
		{ThreadID: 0, Type: "increment", Name: "UserTimeMicroseconds", Value: 2000},
		{ThreadID: 4712, Type: "increment", Name: "SystemTimeMicroseconds", Value: 10},
	})
	if !c.CPUReported {
		t.Fatal("CPUReported = false after packets with CPU time")
	}
	if want := 3750 * time.Microsecond; c.CPU != want {
		t.Errorf("CPU = %s, want %s (1500 + 250 + 2000 µs of thread 0)", c.CPU, want)
	}

	var none Cost
	none.addProfileEvents([]clickhouse.ProfileEvent{{ThreadID: 0, Type: "increment", Name: "SelectedRows", Value: 5}})
	if none.CPUReported || none.CPU != 0 {
		t.Errorf("packets without CPU time: %+v, want nothing reported", none)
	}
}
