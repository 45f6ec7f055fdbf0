package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
)

// DefaultDedupeWindow is how long a call is answered with the job an
// identical call submitted (the --dedupe-window default).
const DefaultDedupeWindow = 10 * time.Minute

// canonicalHash identifies a call's input: its arguments with the
// schema's defaults filled in, local files named by the SHA-256 of their
// bytes, encoded with sorted keys. "" when a local file cannot be read
// (the upload then says why).
func (et *endpointTool) canonicalHash(ctx context.Context, args map[string]any) string {
	raw, err := json.Marshal(args)
	if err != nil {
		return ""
	}
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil || doc == nil {
		return ""
	}
	var schema struct {
		Properties map[string]struct {
			Default any `json:"default"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(et.tool.RawInputSchema, &schema)
	for name, p := range schema.Properties {
		if _, set := doc[name]; !set && p.Default != nil && name != waitProperty && name != estimateOnlyProperty && name != forceNewProperty {
			doc[name] = p.Default
		}
	}
	ok := true
	for _, p := range et.media {
		eachMedia(doc, strings.Split(p, "."), "", func(_, s string, set func(string)) {
			if local, _ := classifyMedia(s); !local || !ok {
				return
			}
			f, err := et.s.uploads.open(ctx, s)
			if err != nil {
				ok = false
				return
			}
			sum, err := fileSHA256(f.File)
			f.Close()
			if err != nil {
				ok = false
				return
			}
			set("sha256:" + sum)
		})
	}
	if !ok {
		return ""
	}
	canon, _ := json.Marshal(doc) // maps encode with sorted keys
	h := sha256.Sum256(append([]byte(et.row.Tool+"\n"), canon...))
	return hex.EncodeToString(h[:])
}

// findDuplicate finds the newest job of the tool with the same canonical
// input submitted within the dedupe window that has not failed or been
// cancelled: any process's, through the ledger; else this process's.
func (s *toolset) findDuplicate(ctx context.Context, tool, hash string) (Job, bool) {
	since := time.Now().Add(-s.opts.DedupeWindow)
	if led := s.jobs.led; led != nil {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		lj, ok, err := led.FindDuplicate(lctx, tool, hash, since)
		cancel()
		s.jobs.noteLedger("read", err)
		if err == nil {
			if !ok {
				return Job{}, false
			}
			if j, _, ok := s.jobs.get(lj.RequestID); ok {
				return j, true
			}
			return fromLedger(lj), true
		}
	}
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	for i := len(s.jobs.order) - 1; i >= 0; i-- {
		j := s.jobs.order[i].job
		if j.Tool == tool && j.inputHash == hash && !j.SubmittedAt.Before(since) && j.Status != StatusFailed && j.Status != StatusCancelled {
			return j, true
		}
	}
	return Job{}, false
}

// duplicateResult answers a call identical to an earlier one with that
// job (waited on like a new one), and a first line saying so.
func (s *toolset) duplicateResult(ctx context.Context, req mcp.CallToolRequest, job Job, wait time.Duration) *mcp.CallToolResult {
	s.opts.Logger.Info("same call as an earlier job: not submitted again", "tool", job.Tool, "request_id", job.RequestID)
	if wait > 0 && !ledger.Settled(job.Status) {
		job = s.await(ctx, req, job.RequestID, wait)
	}
	res := s.answer(job)
	line := fmt.Sprintf("Not submitted again: this call (same tool, same input) was submitted %s ago as job %s, within the dedupe window of %s, "+
		"so that job is returned and nothing new was sent to fal. To run it again anyway, call with force_new: true.",
		time.Since(job.SubmittedAt).Round(time.Second), job.RequestID, s.opts.DedupeWindow)
	res.Content = append([]mcp.Content{mcp.NewTextContent(line)}, res.Content...)
	return res
}
