package main

import "testing"

func TestMemorySettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cgroup := func(n int64) func() int64 { return func() int64 { return n } }
	for _, tc := range []struct {
		name          string
		flags         memoryFlags
		env           map[string]string
		cgroup        int64
		limit         int64
		limitFrom     string
		gcSet         bool
		gcPercent     int
		gcPercentFrom string
	}{
		{name: "defaults, no cgroup limit", flags: memoryFlags{limit: "auto"}, limitFrom: "none", gcPercentFrom: "default"},
		{name: "defaults, cgroup limit", flags: memoryFlags{limit: "auto"}, cgroup: 1000 << 20, limit: 900 << 20, limitFrom: "cgroup", gcPercentFrom: "default"},
		{name: "GOMEMLIMIT and GOGC win over auto", flags: memoryFlags{limit: "auto"}, env: map[string]string{"GOMEMLIMIT": "300MiB", "GOGC": "50"},
			cgroup: 1 << 30, limitFrom: "GOMEMLIMIT", gcPercentFrom: "GOGC"},
		{name: "flags win over the environment", flags: memoryFlags{limit: "256MiB", gcPercent: "50"}, env: map[string]string{"GOMEMLIMIT": "1GiB", "GOGC": "200"},
			limit: 256 << 20, limitFrom: "flag", gcSet: true, gcPercent: 50, gcPercentFrom: "flag"},
		{name: "off", flags: memoryFlags{limit: "off", gcPercent: "off"}, cgroup: 1 << 30, limitFrom: "none", gcSet: true, gcPercent: -1, gcPercentFrom: "flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.flags.settings(env(tc.env), cgroup(tc.cgroup))
			if err != nil {
				t.Fatal(err)
			}
			if s.limit != tc.limit || s.limitFrom != tc.limitFrom {
				t.Errorf("limit %d from %s, want %d from %s", s.limit, s.limitFrom, tc.limit, tc.limitFrom)
			}
			if s.gcSet != tc.gcSet || s.gcPercent != tc.gcPercent || s.gcPercentOf != tc.gcPercentFrom {
				t.Errorf("gc %v %d from %s, want %v %d from %s", s.gcSet, s.gcPercent, s.gcPercentOf, tc.gcSet, tc.gcPercent, tc.gcPercentFrom)
			}
		})
	}
}

func TestMemorySettingsRefused(t *testing.T) {
	for _, f := range []memoryFlags{{limit: "lots"}, {limit: "1MiB"}, {limit: "auto", gcPercent: "5"}, {limit: "auto", gcPercent: "fifty"}} {
		if _, err := f.settings(func(string) string { return "" }, func() int64 { return 0 }); err == nil {
			t.Errorf("%+v: accepted", f)
		}
	}
}

func TestParseCgroupLimit(t *testing.T) {
	for in, want := range map[string]int64{"max\n": 0, "536870912\n": 512 << 20, "9223372036854771712\n": 0} {
		if got, err := parseCgroupLimit(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseCgroupLimit("garbage"); err == nil {
		t.Error("garbage accepted")
	}
}
