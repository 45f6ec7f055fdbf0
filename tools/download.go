package tools

import (
	"context"
	"fmt"
	"mime"
	"path"
	"strings"
)

// download saves every output file of a completed job into the output
// folder as "<tool>-<request id>[-<n>].<ext>" and records where.
func (s *toolset) download(ctx context.Context, job *Job) error {
	if s.opts.Output == nil {
		return fmt.Errorf("no output folder is set: start the server with --output-dir")
	}
	for i := range job.Files {
		f := &job.Files[i]
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
