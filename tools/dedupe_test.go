package tools_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

var withDedupe = func(o *tools.Options) { o.DedupeWindow = tools.DefaultDedupeWindow }

// sentFile is the SHA-256 of the bytes fal holds for the video_url a job
// at the emulator was submitted with.
func sentFile(t *testing.T, emu *faltest.Server, requestID string) string {
	t.Helper()
	j, ok := emu.Job(requestID)
	if !ok {
		t.Fatalf("job %s is not at the emulator", requestID)
	}
	var in struct {
		VideoURL string `json:"video_url"`
	}
	if err := json.Unmarshal(j.Input, &in); err != nil {
		t.Fatal(err)
	}
	f, ok := emu.File(in.VideoURL)
	if !ok {
		t.Fatalf("job %s's video_url %s is not on the emulator's CDN", requestID, in.VideoURL)
	}
	return f.SHA256
}

// TestChangedBytesSameSizeAndMtime: a file rewritten with other bytes of
// the same size, its modification time put back, is uploaded again — fal
// receives the new bytes — and a copy of the new bytes is deduped to the
// job that really ran on them.
func TestChangedBytesSameSizeAndMtime(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	files, state := t.TempDir(), t.TempDir()
	const v1, v2 = "\x00\x00\x00\x18ftypisom first take", "\x00\x00\x00\x18ftypisom other take"
	clip := writeFile(t, filepath.Join(files, "clip.mp4"), v1)
	fi, err := os.Stat(clip)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := withLedger(t, state, make(chan tools.Job, 10))
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt, withDedupe, allowing(t, files))
	ctx := ctxT(t)
	first := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": clip, "wait_seconds": 0}))
	if got := sentFile(t, emu, first.RequestID); got != sha(v1) {
		t.Fatalf("first job: fal holds %s, want the first take %s", got, sha(v1))
	}

	writeFile(t, clip, v2)
	if err := os.Chtimes(clip, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": clip, "wait_seconds": 0})
	second := jobOf(t, res)
	if second.RequestID == first.RequestID {
		t.Fatalf("the rewritten file was deduped to the first job: %s", text(res))
	}
	if got := sentFile(t, emu, second.RequestID); got != sha(v2) {
		t.Errorf("second job: fal holds %s, want the new bytes %s (the old bytes are %s)", got, sha(v2), sha(v1))
	}

	copyOf := writeFile(t, filepath.Join(files, "copy.mp4"), v2)
	res = h.call(t, ctx, "upscale_video", map[string]any{"video_url": copyOf, "wait_seconds": 0})
	third := jobOf(t, res)
	if got := sentFile(t, emu, third.RequestID); got != sha(v2) {
		t.Errorf("a copy of the new bytes was answered with job %s, which ran on %s, not the new bytes %s", third.RequestID, got, sha(v2))
	}
	if n := submits(emu); n != 2 {
		t.Errorf("%d submits, want 2", n)
	}
}

// TestDedupeTwoAccounts: two fal keys sharing a ledger never get each
// other's jobs, and neither key is written to the ledger.
func TestDedupeTwoAccounts(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{}) // any key
	t.Cleanup(emu.Close)
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	state := t.TempDir()
	keys := []string{"canary-id-one:canary-secret-one", "canary-id-two:canary-secret-two"}
	ctx := ctxT(t)
	var ids []string
	for _, key := range keys {
		fal, err := falqueue.New(falqueue.Config{Key: falqueue.Secret(key), QueueURL: emu.QueueURL, RestURL: emu.RestURL, CDNURL: emu.CDNURL,
			PollInterval: 5 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		opt, _ := withLedger(t, state, make(chan tools.Job, 10))
		h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt, withDedupe, func(o *tools.Options) { o.Fal = fal })
		for range 2 { // the second call of each account is its own first job
			res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0})
			ids = append(ids, jobOf(t, res).RequestID)
		}
	}
	if n := submits(emu); n != 2 {
		t.Errorf("%d submits for two accounts, want 2", n)
	}
	if ids[0] != ids[1] || ids[2] != ids[3] || ids[0] == ids[2] {
		t.Errorf("jobs answered %v: want each account's two calls on its own job", ids)
	}
	for _, j := range emu.Jobs() {
		key := strings.TrimPrefix(j.Header.Get("Authorization"), "Key ")
		if (j.RequestID == ids[0]) != (key == keys[0]) {
			t.Errorf("job %s was submitted with the other account's key", j.RequestID)
		}
	}
	db, err := os.ReadFile(filepath.Join(state, "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(state, "jobs.db-wal"))
	for _, secret := range []string{"canary-id-one", "canary-secret-one", "canary-id-two", "canary-secret-two"} {
		if strings.Contains(string(db)+string(wal), secret) {
			t.Errorf("the ledger holds %q", secret)
		}
	}
}

// TestReusedFlag: a call answered with an earlier job says so in its
// structured content — reused, why, and what to call for a new job — in
// both protocol eras; a new job carries no such flag.
func TestReusedFlag(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, era, withDedupe)
			h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
			ctx := ctxT(t)
			args := map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0}
			first := h.call(t, ctx, "upscale_video", args)
			again := h.call(t, ctx, "upscale_video", args)
			var fresh, reused map[string]any
			for _, c := range []struct {
				res *mcp.CallToolResult
				dst *map[string]any
			}{{first, &fresh}, {again, &reused}} {
				b, _ := json.Marshal(c.res.StructuredContent)
				if err := json.Unmarshal(b, c.dst); err != nil {
					t.Fatalf("structured content %s: %v", b, err)
				}
			}
			if _, ok := fresh["reused"]; ok {
				t.Errorf("a new job carries reused: %v", fresh)
			}
			if reused["reused"] != true {
				t.Errorf("structured content of the reused job: reused = %v, want true; content: %v", reused["reused"], reused)
			}
			if r, _ := reused["reused_reason"].(string); !strings.Contains(r, "same input") {
				t.Errorf("reused_reason = %q, want why the earlier job was returned", r)
			}
			if next, _ := reused["next"].(string); !strings.Contains(next, "force_new: true") || !strings.Contains(next, "upscale_video") {
				t.Errorf("next = %q, want how to get a new job", next)
			}
			if reused["request_id"] != fresh["request_id"] {
				t.Errorf("reused job %v, want %v", reused["request_id"], fresh["request_id"])
			}
			conformsToOutputSchema(t, "upscale_video", again)
		})
	}
}

// TestFileChangedDuringUpload: a file rewritten in place (same size)
// after the call hashed it, while it is being uploaded — in one PUT or in
// parts — is refused: no job runs on bytes other than those its dedupe
// key names, and a multipart upload is never completed.
func TestFileChangedDuringUpload(t *testing.T) {
	for _, c := range []struct {
		name string
		size int64
		when faltest.Op // the file changes as this request reaches fal
	}{
		{"one PUT", 0, faltest.OpInitiate},
		{"in parts", falqueue.MultipartThreshold + 1<<20, faltest.OpPart},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.size > 0 && testing.Short() {
				t.Skip("a multipart upload")
			}
			emu := faltest.NewServer(faltest.Options{Key: testKey})
			t.Cleanup(emu.Close)
			files := t.TempDir()
			clip := writeFile(t, filepath.Join(files, "clip.mp4"), "\x00\x00\x00\x18ftypisom first take")
			if c.size > 0 {
				if err := os.Truncate(clip, c.size); err != nil { // sparse
					t.Fatal(err)
				}
			}
			var once sync.Once
			stop := emu.OnRequest(func(r faltest.Request) {
				if r.Op != c.when {
					return
				}
				once.Do(func() { // the last byte, in place: same file, same size, other bytes
					f, err := os.OpenFile(clip, os.O_WRONLY, 0)
					if err != nil {
						panic(err)
					}
					defer f.Close()
					fi, _ := f.Stat()
					if _, err := f.WriteAt([]byte{'!'}, fi.Size()-1); err != nil {
						panic(err)
					}
				})
			})
			t.Cleanup(stop)
			h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, withDedupe, allowing(t, files))
			res := h.call(t, ctxT(t), "upscale_video", map[string]any{"video_url": clip, "wait_seconds": 0})
			if !res.IsError || !strings.Contains(text(res), "changed while it was being read") {
				t.Errorf("a file changed during its upload: %s", text(res))
			}
			if n := submits(emu); n != 0 {
				t.Errorf("%d submits of a file that changed after it was hashed, want 0", n)
			}
			if n := countOp(emu, faltest.OpComplete); n != 0 {
				t.Errorf("the upload of a file that changed was completed")
			}
		})
	}
}
