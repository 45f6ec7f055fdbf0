package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// BenchmarkStartup measures start-up as a client sees it — exec, then
// initialize, then tools/list answered — for this server and for a bare
// mcp-go server (testdata/baremcp), side by side in the same run, and
// reports the median of each and their ratio. Both binaries are built
// here; the server runs as a user runs it: a fal key set (nothing is sent
// to fal at start-up) and its job ledger in a state directory that a
// first, untimed start created (a user's ledger exists but for the very
// first start). Figures, not a test.
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	real, bare := filepath.Join(dir, "fal-video-mcp"), filepath.Join(dir, "baremcp")
	for bin, pkg := range map[string]string{real: ".", bare: "./testdata/baremcp"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "FAL_KEY=bench-id:bench-secret",
		"FAL_VIDEO_MCP_STATE_DIR=" + b.TempDir(), "NO_COLOR=1"}
	startAndList(b, real, env) // creates the ledger
	const pairs = 10           // starts of each binary per iteration, interleaved
	var realTimes, bareTimes []time.Duration
	b.ResetTimer()
	for range b.N {
		for range pairs {
			realTimes = append(realTimes, startAndList(b, real, env))
			bareTimes = append(bareTimes, startAndList(b, bare, []string{"PATH=" + os.Getenv("PATH")}))
		}
	}
	b.StopTimer()
	r, s := median(realTimes), median(bareTimes)
	b.ReportMetric(float64(r.Microseconds())/1000, "server-ms")
	b.ReportMetric(float64(s.Microseconds())/1000, "bare-ms")
	b.ReportMetric(float64(r)/float64(s), "startup-ratio")
}

// startAndList starts a server binary over stdio and returns how long it
// took until its tools/list was answered.
func startAndList(b *testing.B, bin string, env []string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	c, err := client.NewStdioMCPClient(bin, env)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		b.Fatalf("%s: initialize: %v", filepath.Base(bin), err)
	}
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil || len(res.Tools) == 0 {
		b.Fatalf("%s: tools/list: %v %v", filepath.Base(bin), res, err)
	}
	return time.Since(start)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
