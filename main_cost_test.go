package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools"
)

// TestSpendFlags: the spend flags and their environment twins.
func TestSpendFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want func(config) bool
		err  string
	}{
		{want: func(c config) bool {
			return c.maxJobCost == nil && c.budget == nil && c.confirmAbove == nil && c.dedupeWindow == 10*time.Minute
		}},
		{args: []string{"--max-job-cost", "2.50", "--budget", "$20", "--confirm-above", "0", "--dedupe-window", "0"}, want: func(c config) bool {
			return *c.maxJobCost == 2.5 && *c.budget == 20 && *c.confirmAbove == 0 && c.dedupeWindow == 0
		}},
		{env: map[string]string{"FAL_VIDEO_MCP_BUDGET": "5", "FAL_VIDEO_MCP_DEDUPE_WINDOW": "1h", "FAL_API_URL": "http://127.0.0.1:9"}, want: func(c config) bool {
			return *c.budget == 5 && c.dedupeWindow == time.Hour && c.apiURL == "http://127.0.0.1:9"
		}},
		{args: []string{"--max-job-cost", "-1"}, err: "--max-job-cost"},
		{args: []string{"--budget", "lots"}, err: "want an amount in USD"},
		{args: []string{"--dedupe-window", "-5m"}, err: "--dedupe-window"},
		{args: []string{"--unknown-cost", "ask"}, want: func(c config) bool { return c.unknownCost == "ask" }},
		{env: map[string]string{"FAL_VIDEO_MCP_UNKNOWN_COST": "allow", "FAL_VIDEO_MCP_BUDGET": "1"}, want: func(c config) bool { return c.unknownCost == "allow" }},
		{args: []string{"--unknown-cost", "refuse"}, env: map[string]string{"FAL_VIDEO_MCP_UNKNOWN_COST": "allow"}, want: func(c config) bool { return c.unknownCost == "refuse" }},
		{args: []string{"--budget", "1"}, want: func(c config) bool { return c.unknownCost == "" }}, // the default of the limits, in tools
		{args: []string{"--unknown-cost", "maybe"}, err: `--unknown-cost "maybe": want refuse, ask or allow`},
	} {
		cfg, err := parseFlags(c.args, func(k string) string { return c.env[k] }, io.Discard)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: err %v, want %q", c.args, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%v %v: %v", c.args, c.env, err)
		case c.err == "" && !c.want(cfg):
			t.Errorf("%v %v: config %+v", c.args, c.env, cfg)
		}
	}
}

// TestDefaultUnknownCost: ask with --confirm-above, else refuse with a
// limit, else allow.
func TestDefaultUnknownCost(t *testing.T) {
	one := 1.0
	for _, c := range []struct {
		max, budget, confirm *float64
		want                 string
	}{
		{nil, nil, nil, tools.UnknownCostAllow},
		{&one, nil, nil, tools.UnknownCostRefuse},
		{nil, &one, nil, tools.UnknownCostRefuse},
		{&one, &one, &one, tools.UnknownCostAsk},
		{nil, nil, &one, tools.UnknownCostAsk},
	} {
		if got := tools.DefaultUnknownCost(c.max, c.budget, c.confirm); got != c.want {
			t.Errorf("DefaultUnknownCost(%v, %v, %v) = %s, want %s", c.max != nil, c.budget != nil, c.confirm != nil, got, c.want)
		}
	}
}
