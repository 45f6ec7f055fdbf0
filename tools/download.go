package tools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
)

// DefaultMaxDownloadSize caps each downloaded output file when
// Options.MaxDownloadSize is not set.
const DefaultMaxDownloadSize = 4 << 30

// download saves every output file of a completed job into the output
// folder as "<tool>-<request id>[-<n>].<ext>" and records where. Only what
// a fal output can be is fetched (see falqueue.Client.Download), each file
// at most MaxDownloadSize bytes; its extension comes from its media type
// or its first bytes, never from the file name fal sends.
func (s *toolset) download(ctx context.Context, job *Job) error {
	if s.opts.Output == nil {
		return fmt.Errorf("no output folder is set: start the server with --output-dir")
	}
	max := s.opts.MaxDownloadSize
	if max <= 0 {
		max = DefaultMaxDownloadSize
	}
	for i := range job.Files {
		f := &job.Files[i]
		if f.LocalPath != "" && fileExists(f.LocalPath) {
			continue // saved before: never a second copy
		}
		base := job.Tool + "-" + job.RequestID
		if len(job.Files) > 1 {
			base = fmt.Sprintf("%s-%d", base, i+1)
		}
		saved, err := s.save(ctx, base, *f, max)
		if err != nil {
			return err
		}
		f.LocalPath = saved
	}
	return nil
}

// saveOutputs saves a completed job's output files once: the follower
// (with --download) and job_result calls share the files already saved.
func (s *toolset) saveOutputs(ctx context.Context, job *Job) error {
	unlock := s.lockSaving(job.RequestID)
	defer unlock()
	if cur, _, ok := s.jobs.get(job.RequestID); ok && len(cur.Files) == len(job.Files) {
		for i := range job.Files {
			if job.Files[i].LocalPath == "" {
				job.Files[i].LocalPath = cur.Files[i].LocalPath
			}
		}
	}
	err := s.download(ctx, job)
	s.jobs.saved(job.RequestID, job.Files)
	return err
}

// lockSaving serialises the saving of one job's outputs.
func (s *toolset) lockSaving(id string) (unlock func()) {
	s.savingMu.Lock()
	if s.saving == nil {
		s.saving = map[string]*sync.Mutex{}
	}
	m, ok := s.saving[id]
	if !ok {
		m = &sync.Mutex{}
		s.saving[id] = m
	}
	s.savingMu.Unlock()
	m.Lock()
	return m.Unlock
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// save downloads one file into the output folder; on any failure nothing
// of it is left there.
func (s *toolset) save(ctx context.Context, base string, f OutputFile, max int64) (string, error) {
	dl, err := s.opts.Fal.Download(ctx, f.URL, falqueue.DownloadOptions{MaxSize: max})
	if err != nil {
		return "", downloadError(err)
	}
	defer dl.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(dl, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", downloadError(err)
	}
	head = head[:n]
	ext := localfile.MediaExtension(head, f.ContentType, dl.ContentType)
	saved, err := s.opts.Output.Save(base, ext, io.MultiReader(bytes.NewReader(head), dl))
	if err != nil {
		return "", downloadError(err)
	}
	return saved, nil
}

// downloadError says what went wrong in the user's terms.
func downloadError(err error) error {
	var big *falqueue.TooLargeError
	if errors.As(err, &big) {
		return fmt.Errorf("%w (--max-download-size); nothing was saved", err)
	}
	return err
}
