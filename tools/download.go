package tools

import (
	"context"
	"fmt"
	"mime"
	"os"
	"path"
	"strings"
	"sync"
)

// download saves every output file of a completed job into the output
// folder as "<tool>-<request id>[-<n>].<ext>" and records where.
func (s *toolset) download(ctx context.Context, job *Job) error {
	if s.opts.Output == nil {
		return fmt.Errorf("no output folder is set: start the server with --output-dir")
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
		body, err := s.opts.Fal.Download(ctx, f.URL)
		if err != nil {
			return err
		}
		saved, err := s.opts.Output.Save(base, extension(*f), body)
		body.Close()
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

// extension picks a file extension from fal's file name, the URL, or the
// content type; the output folder makes it safe.
func extension(f OutputFile) string {
	for _, name := range []string{f.FileName, f.URL} {
		if i := strings.IndexAny(name, "?#"); i >= 0 {
			name = name[:i]
		}
		if ext := strings.TrimPrefix(path.Ext(name), "."); ext != "" && len(ext) <= 5 {
			return ext
		}
	}
	if exts, _ := mime.ExtensionsByType(f.ContentType); len(exts) > 0 {
		return strings.TrimPrefix(exts[0], ".")
	}
	return "bin"
}
