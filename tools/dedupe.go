package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
)

// DefaultDedupeWindow is how long a call is answered with the job an
// identical call submitted (the --dedupe-window default).
const DefaultDedupeWindow = 10 * time.Minute

// canonicalVersion is folded into every canonical hash: hashes made by
// another definition (before the target and account were in it) never
// match.
const canonicalVersion = "canonical-input v2"

// canonicalHash identifies a call's input and where it would run: its
// arguments with the schema's defaults filled in, local files named by
// the SHA-256 of their bytes, encoded with sorted keys, with the target —
// a dry run or fal, the queue URL, and the account (a hash of the key's
// id, never the key; falqueue's Client.Target). A dry-run job is never the
// answer to a real call, nor one account's job to another's.
//
// sums are the SHA-256 of every local file, by value as given: the upload
// checks the bytes it sends against them, so each file is read once here
// and once as it is uploaded, and the job never runs on bytes other than
// those its hash names. hash is "" when a local file cannot be read (the
// upload then says why).
func (et *endpointTool) canonicalHash(ctx context.Context, args map[string]any) (hash string, sums map[string]string) {
	raw, err := json.Marshal(args)
	if err != nil {
		return "", nil
	}
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil || doc == nil {
		return "", nil
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
	sums = map[string]string{}
	for _, p := range et.media {
		eachMedia(doc, strings.Split(p, "."), "", func(_, s string, set func(string)) {
			if local, _ := classifyMedia(s); !local || !ok {
				return
			}
			sum, seen := sums[s]
			if !seen {
				f, err := et.s.uploads.open(ctx, s)
				if err != nil {
					ok = false
					return
				}
				sum, err = f.Hash()
				f.Close()
				if err != nil {
					ok = false
					return
				}
				sums[s] = sum
			}
			set("sha256:" + sum)
		})
	}
	if !ok {
		return "", nil
	}
	canon, _ := json.Marshal(doc) // maps encode with sorted keys
	target := "fal"
	if et.s.opts.DryRun {
		target = "dry-run"
	}
	if et.s.opts.Fal != nil {
		target += " " + et.s.opts.Fal.Target()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", canonicalVersion, target, et.row.Tool)
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), sums
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
// job (waited on like a new one): a first line saying so, and in the
// structured content reused: true, why, and what to call for a new job.
func (s *toolset) duplicateResult(ctx context.Context, req mcp.CallToolRequest, job Job, wait time.Duration) *mcp.CallToolResult {
	s.opts.Logger.Info("same call as an earlier job: not submitted again", "tool", job.Tool, "request_id", job.RequestID)
	job, err := s.submittedElsewhere(ctx, job, wait)
	if err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: %v. Nothing was sent to fal by this call.", job.Tool, err))
	}
	if wait > 0 && !ledger.Settled(job.Status) {
		job = s.await(ctx, req, job.RequestID, wait)
	}
	ago := time.Since(job.SubmittedAt).Round(time.Second)
	reason := fmt.Sprintf("the same tool was called with the same input (local files compared by their bytes) for the same target "+
		"%s ago, within the dedupe window of %s: job %s was returned and nothing new was sent to fal", ago, s.opts.DedupeWindow, job.RequestID)
	newJob := fmt.Sprintf("to submit a new job anyway, call %s again with the same arguments and force_new: true", job.Tool)
	res := s.answer(job)
	if sc, ok := res.StructuredContent.(*Job); ok {
		sc.Reused, sc.ReusedReason = true, reason
		if sc.Next != "" {
			sc.Next = newJob + "; to follow this job instead: " + sc.Next
		} else {
			sc.Next = newJob
		}
	}
	line := fmt.Sprintf("Not submitted again: this call (same tool, same input) was submitted %s ago as job %s, within the dedupe window of %s, "+
		"so that job is returned and nothing new was sent to fal. To run it again anyway, call with force_new: true.",
		ago, job.RequestID, s.opts.DedupeWindow)
	res.Content = append([]mcp.Content{mcp.NewTextContent(line)}, res.Content...)
	return res
}

// inFlightFor is how long after its write-ahead a submit may still be
// waiting for fal's answer (fal's request timeout, with room to spare).
const inFlightFor = 3 * time.Minute

// submittedElsewhere waits, for a job another process has written ahead
// and is submitting right now (still under its local id, its answer not
// yet in), until fal's answer is recorded — at most until the call's wait
// (or a few seconds) runs out — so that the call is answered with fal's
// request id rather than a job that looks lost.
func (s *toolset) submittedElsewhere(ctx context.Context, job Job, wait time.Duration) (Job, error) {
	led := s.jobs.led
	if led == nil || job.Status != StatusUnknown || !strings.HasPrefix(job.RequestID, "local-") || job.Error != "" ||
		time.Since(job.SubmittedAt) > inFlightFor {
		return job, nil // not in flight: a submit whose answer was lost (or a crash), shown as it is
	}
	// (This process's own identical calls never meet their write-ahead in
	// flight: spending.claim holds them until the submit is answered.)
	localID := job.RequestID
	deadline := time.NewTimer(max(wait, 5*time.Second))
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		lj, err := led.ByLocalID(lctx, localID)
		cancel()
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			return job, fmt.Errorf("an identical call (job %s) was being submitted by another process, and fal refused it; call again to submit this one", localID)
		case err == nil && (lj.Status != StatusUnknown || lj.Error != ""):
			if lj.RequestID != localID { // drop the copy read under the local id: the job goes by fal's id now
				s.jobs.mu.Lock()
				s.jobs.forget(localID)
				s.jobs.mu.Unlock()
			}
			if j, _, ok := s.jobs.get(lj.RequestID); ok {
				return j, nil
			}
			return fromLedger(lj), nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return job, nil
		case <-ctx.Done():
			return job, nil
		}
	}
}

// isDuplicate reports whether the write-ahead found the same call's job
// (ledger.DuplicateError).
func isDuplicate(err error) bool {
	var dup *ledger.DuplicateError
	return errors.As(err, &dup)
}

// duplicateOf returns the job an error of the write-ahead names as the
// same call's (ledger.DuplicateError): another process wrote it between
// this call's dedupe check and its own write-ahead.
func (s *toolset) duplicateOf(err error) (Job, bool) {
	var dup *ledger.DuplicateError
	if !errors.As(err, &dup) {
		return Job{}, false
	}
	if j, _, ok := s.jobs.get(dup.Job.RequestID); ok {
		return j, true
	}
	return fromLedger(dup.Job), true
}
