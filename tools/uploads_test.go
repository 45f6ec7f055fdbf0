package tools_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
)

func countOp(emu *faltest.Server, op faltest.Op) int {
	n := 0
	for _, r := range emu.Requests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

// TestUploadsRememberedAcrossRestarts: the ledger remembers uploads, so a
// restarted server — or another path holding the same bytes — does not
// upload the file again.
func TestUploadsRememberedAcrossRestarts(t *testing.T) {
	files := t.TempDir()
	clip := writeFile(t, filepath.Join(files, "clip.mp4"), "\x00\x00\x00\x18ftypisom the clip")
	copyOf := writeFile(t, filepath.Join(files, "copy.mp4"), "\x00\x00\x00\x18ftypisom the clip")
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	defer emu.Close()
	state := t.TempDir()
	withLed := func() func(*tools.Options) {
		led, err := ledger.Open(ctxT(t), state)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { led.Close() })
		return func(o *tools.Options) { o.Ledger = led }
	}
	first := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, allowing(t, files), withLed())
	if res := first.call(t, ctxT(t), "upload_file", map[string]any{"path": clip}); res.IsError {
		t.Fatal(text(res))
	}
	if n := countOp(emu, faltest.OpInitiate); n != 1 {
		t.Fatalf("%d uploads", n)
	}
	second := newHarnessOn(t, emu, mcp.ProtocolVersion20251125, allowing(t, files), withLed())
	for _, p := range []string{clip, copyOf} {
		if res := second.call(t, ctxT(t), "upscale_video", map[string]any{"video_url": p, "wait_seconds": 0}); res.IsError {
			t.Fatal(text(res))
		}
	}
	if n := countOp(emu, faltest.OpInitiate); n != 1 {
		t.Errorf("%d uploads after the restart, want the first one only", n)
	}
}

// TestLargeLocalFileBoundedMemory: a 300 MiB local file goes up in parts
// through a tool call, memory bounded by the parts in flight.
func TestLargeLocalFileBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("300 MiB upload")
	}
	files := t.TempDir()
	path := filepath.Join(files, "big.mp4")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("\x00\x00\x00\x18ftypisom")); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil { // sparse: no 300 MiB written by the test
		t.Fatal(err)
	}
	f.Close()
	h := newHarness(t, mcp.ProtocolVersion20260728, allowing(t, files))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res := h.call(t, ctxT(t), "upload_file", map[string]any{"path": path})
	runtime.ReadMemStats(&after)
	if res.IsError {
		t.Fatal(text(res))
	}
	if n := countOp(h.emu, faltest.OpPart); n != 30 {
		t.Errorf("%d parts, want 30", n)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	limit := uint64(4*10<<20 + 32<<20) // 4 parts in flight + the emulator and HTTP machinery
	t.Logf("300 MiB local upload: %.1f MiB allocated (limit %.1f MiB)", float64(alloc)/(1<<20), float64(limit)/(1<<20))
	if alloc > limit {
		t.Errorf("allocated %d bytes, want at most %d", alloc, limit)
	}
}
