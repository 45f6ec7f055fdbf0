package localfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrChanged is matched (errors.Is) when a file's bytes are not the bytes
// hashed earlier: it was written to in between.
var ErrChanged = errors.New("the file changed while it was being read")

// Hash reads the file's Size bytes from the start and returns their
// SHA-256 (hex), leaving the file at its start. The bytes are those of
// the file as opened: hash them once, and pass the sum to Verified when
// they are read again.
func (f *File) Hash() (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.CopyN(h, f.File, f.Size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%w: it has %d bytes, not %d", ErrChanged, n, f.Size)
		}
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Verified returns a reader of the file's Size bytes from its start that
// hashes what it reads and fails — returning ErrChanged instead of the
// last bytes, so that no reader of it (an upload) can complete — when
// the bytes are not those whose SHA-256 is sum. Seeking back to the start
// (a retried upload) starts the hash again. Done reports whether every
// byte was read and matched.
func (f *File) Verified(sum string) *VerifiedReader {
	return &VerifiedReader{f: f, want: sum, h: sha256.New()}
}

// VerifiedReader is File.Verified's reader.
type VerifiedReader struct {
	f    *File
	want string
	h    hash.Hash
	pos  int64 // bytes hashed, from the start
	ok   bool
	bad  bool // read from somewhere other than where the hash is
}

// Read reads at most the bytes left of Size and hashes them; the read that
// reaches Size checks the sum before it returns its bytes.
func (v *VerifiedReader) Read(p []byte) (int, error) {
	if v.bad {
		return 0, fmt.Errorf("%w: it was not read in order", ErrChanged)
	}
	left := v.f.Size - v.pos
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := v.f.File.Read(p)
	v.h.Write(p[:n])
	v.pos += int64(n)
	if v.pos == v.f.Size {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			v.bad = true
			return 0, fmt.Errorf("%w: its SHA-256 is now %s, not %s", ErrChanged, got, v.want)
		}
		v.ok = true
		return n, nil
	}
	if errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%w: it ended after %d of %d bytes", ErrChanged, v.pos, v.f.Size)
	}
	return n, err
}

// Seek supports what an upload does: ask where it is, and go back to the
// start to send again.
func (v *VerifiedReader) Seek(offset int64, whence int) (int64, error) {
	switch {
	case whence == io.SeekCurrent && offset == 0:
		return v.pos, nil
	case whence == io.SeekStart && offset == 0:
		if _, err := v.f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		v.h.Reset()
		v.pos, v.ok, v.bad = 0, false, false
		return 0, nil
	}
	v.bad = true
	return 0, fmt.Errorf("localfile: a verified read only goes back to the start")
}

// Done reports whether the reader has read all Size bytes and they were
// the bytes expected.
func (v *VerifiedReader) Done() bool { return v.ok }
