package faltest

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// storedFile is a file on the emulated CDN.
type storedFile struct {
	info FileInfo
	path string // on disk
}

// FileInfo describes a file on the CDN.
type FileInfo struct {
	URL         string
	Name        string
	ContentType string
	Size        int64
	SHA256      string // hex
}

// upload is an initiated upload (§7.1, §7.2).
type upload struct {
	token, name, contentType, signature string
	multipart                           bool
	parts                               map[int]string // part number → etag
	joining, done                       bool           // multipart: complete under way, finished
	joined                              []int          // multipart: the parts joined, in order
}

// AddFile puts a file on the CDN, as a model output would be, and returns
// its URL.
func (s *Server) AddFile(name, contentType string, data []byte) string {
	token := randomToken()
	path := filepath.Join(s.dir, token)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		panic("faltest: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return s.addStored(token, name, contentType, path, int64(len(data)), hex.EncodeToString(sum[:]))
}

func (s *Server) addStored(token, name, contentType, path string, size int64, sum string) string {
	urlPath := "/files/" + token + "/" + url.PathEscape(name)
	f := &storedFile{path: path, info: FileInfo{URL: s.CDNURL + urlPath, Name: name, ContentType: contentType, Size: size, SHA256: sum}}
	s.mu.Lock()
	s.files[urlPath] = f
	s.mu.Unlock()
	return f.info.URL
}

// File describes the CDN file at fileURL.
func (s *Server) File(fileURL string) (FileInfo, bool) {
	u, err := url.Parse(fileURL)
	if err != nil || s.CDNURL != u.Scheme+"://"+u.Host {
		return FileInfo{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[u.EscapedPath()]
	if !ok {
		return FileInfo{}, false
	}
	return f.info, true
}

func randomToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// serveRest routes the REST host: storage initiation and the JWKS.
func (s *Server) serveRest(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/.well-known/jwks.json":
		x := s.begin(w, r, "rest", OpJWKS, false)
		if !x.applyFault(s.takeFault(OpJWKS)) {
			x.finish(http.StatusOK, s.jwks())
		}
	case r.Method == http.MethodPost && (r.URL.Path == "/storage/upload/initiate" || r.URL.Path == "/storage/upload/initiate-multipart"):
		op := OpInitiate
		if strings.HasSuffix(r.URL.Path, "-multipart") {
			op = OpInitiateMultipart
		}
		x := s.begin(w, r, "rest", op, true)
		if !x.checkKey() {
			return
		}
		if x.applyFault(s.takeFault(op)) {
			return
		}
		s.initiate(x, op == OpInitiateMultipart)
	default:
		x := s.begin(w, r, "rest", OpUnknown, false)
		x.json(http.StatusNotFound, map[string]string{"detail": "Not Found"})
	}
}

// initiate answers {"upload_url","file_url"}, both on the CDN (§7.1).
func (s *Server) initiate(x *exchange, multipart bool) {
	var req struct {
		ContentType string `json:"content_type"`
		FileName    string `json:"file_name"`
	}
	if err := json.Unmarshal(x.body, &req); err != nil || req.FileName == "" {
		x.json(http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
			{"loc": []string{"body", "file_name"}, "msg": "Field required", "type": "missing"}}})
		return
	}
	if req.ContentType == "" {
		req.ContentType = "application/octet-stream"
	}
	up := &upload{token: randomToken(), name: req.FileName, contentType: req.ContentType,
		signature: randomToken(), multipart: multipart, parts: map[int]string{}}
	s.mu.Lock()
	s.uploads[up.token] = up
	s.mu.Unlock()
	x.finish(http.StatusOK, map[string]string{
		"upload_url": s.CDNURL + "/upload/" + up.token + "?signature=" + up.signature,
		"file_url":   s.CDNURL + "/files/" + up.token + "/" + url.PathEscape(up.name),
	})
}

// serveCDN routes the CDN: signed upload URLs, multipart parts and
// completion, and files. It never asks for a key.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	segs := splitPath(r.URL.Path)
	switch {
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && len(segs) >= 2 && segs[0] == "files":
		x := s.begin(w, r, "cdn", OpFile, false)
		if x.applyFault(s.takeFault(OpFile)) {
			return
		}
		s.serveFile(x)
	case len(segs) >= 2 && segs[0] == "upload":
		s.serveUpload(w, r, segs[1:])
	default:
		x := s.begin(w, r, "cdn", OpUnknown, false)
		x.json(http.StatusNotFound, map[string]string{"detail": "Not Found"})
	}
}

func (s *Server) serveFile(x *exchange) {
	s.mu.Lock()
	f, ok := s.files[x.r.URL.EscapedPath()]
	s.mu.Unlock()
	if !ok {
		x.json(http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	fh, err := os.Open(f.path)
	if err != nil {
		x.json(http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	defer fh.Close()
	if x.fault != nil && x.fault.DropAfter {
		x.drop()
		return
	}
	x.w.Header().Set("Content-Type", f.info.ContentType)
	rec := &statusRecorder{ResponseWriter: x.w, status: http.StatusOK, x: x}
	http.ServeContent(rec, x.r, f.info.Name, time.Time{}, fh) // answers Range requests with 206

	x.note(func(q *Request) { q.Status = rec.status })
}

// statusRecorder notes the status http.ServeContent answers (200, 206,
// 304, 416 …) and the body bytes it sends, for the request log. Bytes are
// counted before they are written: a client never holds a byte the log
// has not counted.
type statusRecorder struct {
	http.ResponseWriter
	status int
	x      *exchange
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.x.note(func(q *Request) { q.BodySent += int64(len(p)) })
	return r.ResponseWriter.Write(p)
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// serveUpload handles PUT <U> (one part), PUT <U>/<n> (a part) and
// POST <U>/complete (§7.1, §7.2, §9.7).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, segs []string) {
	var op Op
	switch {
	case r.Method == http.MethodPut && len(segs) == 1:
		op = OpUpload
	case r.Method == http.MethodPut && len(segs) == 2:
		op = OpPart
	case r.Method == http.MethodPost && len(segs) == 2 && segs[1] == "complete":
		op = OpComplete
	default:
		x := s.begin(w, r, "cdn", OpUnknown, false)
		x.json(http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
		return
	}
	x := s.begin(w, r, "cdn", op, op == OpComplete)
	if x.applyFault(s.takeFault(op)) {
		return
	}
	s.mu.Lock()
	up, ok := s.uploads[segs[0]]
	s.mu.Unlock()
	switch {
	case !ok:
		x.json(http.StatusNotFound, map[string]string{"detail": "Unknown upload"})
		return
	case r.URL.Query().Get("signature") != up.signature:
		x.json(http.StatusForbidden, map[string]string{"detail": "Invalid signature"})
		return
	case up.multipart != (op != OpUpload):
		x.json(http.StatusBadRequest, map[string]string{"detail": "Wrong upload kind for this URL"})
		return
	}
	switch op {
	case OpUpload:
		s.putWhole(x, up)
	case OpPart:
		s.putPart(x, up, segs[1])
	case OpComplete:
		s.completeUpload(x, up)
	}
}

// receive streams the request body to disk at path, hashing it on the
// way. The bytes land in a temporary file renamed over path only once the
// body is whole: a retry interrupted midway never spoils a part (or file)
// that an earlier attempt stored and answered.
func (x *exchange) receive(path string, h hash.Hash) (int64, error) {
	out, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.MultiWriter(out, h), x.r.Body)
	x.note(func(q *Request) { q.BodySize = n })
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(out.Name(), path)
	}
	if err != nil {
		os.Remove(out.Name())
	}
	return n, err
}

func (s *Server) putWhole(x *exchange, up *upload) {
	path := filepath.Join(s.dir, up.token)
	h := sha256.New()
	n, err := x.receive(path, h)
	if err != nil {
		x.json(http.StatusBadRequest, map[string]string{"detail": "upload interrupted: " + err.Error()})
		return
	}
	ct := x.r.Header.Get("Content-Type")
	if ct == "" {
		ct = up.contentType
	}
	s.addStored(up.token, up.name, ct, path, n, hex.EncodeToString(h.Sum(nil)))
	x.finish(http.StatusOK, map[string]string{})
}

func (s *Server) putPart(x *exchange, up *upload, num string) {
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 10000 {
		x.json(http.StatusBadRequest, map[string]string{"detail": "Invalid part number " + strconv.Quote(num)})
		return
	}
	s.mu.Lock()
	closed := up.joining || up.done
	s.mu.Unlock()
	if closed {
		x.json(http.StatusBadRequest, map[string]string{"detail": "Upload already completed"})
		return
	}
	h := md5.New()
	if _, err := x.receive(s.partPath(up, n), h); err != nil {
		x.json(http.StatusBadRequest, map[string]string{"detail": "part interrupted: " + err.Error()})
		return
	}
	etag := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	up.parts[n] = etag
	s.mu.Unlock()
	// The JS client reads the body, the fal SDK the ETag header (§7.2).
	x.w.Header().Set("ETag", `"`+etag+`"`)
	x.finish(http.StatusOK, map[string]any{"partNumber": n, "etag": etag})
}

// partPath is where part n of a multipart upload waits for completion.
func (s *Server) partPath(up *upload, n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s.part%05d", up.token, n))
}

// completeUpload joins the parts listed, in order, each with its etag.
func (s *Server) completeUpload(x *exchange, up *upload) {
	var req struct {
		Parts []struct {
			PartNumber int    `json:"partNumber"`
			ETag       string `json:"etag"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(x.body, &req); err != nil || len(req.Parts) == 0 {
		x.json(http.StatusBadRequest, map[string]string{"detail": `body must be {"parts":[{"partNumber":n,"etag":"…"},…]}`})
		return
	}
	// Every part 1..n, listed in order, each with the etag its PUT
	// answered (quotes tolerated: the fal SDK reads the ETag header, §7.2).
	s.mu.Lock()
	nums := make([]int, 0, len(req.Parts))
	var problem string
	for i, p := range req.Parts {
		if p.PartNumber != i+1 {
			problem = fmt.Sprintf("parts must be listed 1..n in order; entry %d is part %d", i+1, p.PartNumber)
			break
		}
		if got, ok := up.parts[p.PartNumber]; !ok || strings.Trim(p.ETag, `"`) != got {
			problem = fmt.Sprintf("part %d: etag %q does not match the uploaded part", p.PartNumber, p.ETag)
			break
		}
		nums = append(nums, p.PartNumber)
	}
	busy, repeat := up.joining, up.done && slices.Equal(nums, up.joined)
	if problem == "" && !busy && !up.done {
		up.joining = true
	}
	s.mu.Unlock()
	switch {
	case problem != "":
		x.json(http.StatusBadRequest, map[string]string{"detail": problem})
		return
	case repeat:
		// A retried complete whose first answer was lost: the same
		// parts again succeed again, as they did.
		x.finish(http.StatusOK, map[string]string{})
		return
	case busy || up.done:
		x.json(http.StatusBadRequest, map[string]string{"detail": "Upload already completed"})
		return
	}
	defer func() {
		s.mu.Lock()
		up.joining = false
		s.mu.Unlock()
	}()
	path := filepath.Join(s.dir, up.token)
	out, err := os.Create(path)
	if err != nil {
		x.json(http.StatusInternalServerError, map[string]string{"detail": err.Error()})
		return
	}
	h := sha256.New()
	var size int64
	for _, n := range nums {
		in, err := os.Open(s.partPath(up, n))
		if err == nil {
			var k int64
			k, err = io.Copy(io.MultiWriter(out, h), in)
			size += k
			in.Close()
		}
		if err != nil {
			out.Close()
			x.json(http.StatusInternalServerError, map[string]string{"detail": err.Error()})
			return
		}
	}
	if err := out.Close(); err != nil {
		x.json(http.StatusInternalServerError, map[string]string{"detail": err.Error()})
		return
	}
	for _, n := range nums {
		os.Remove(s.partPath(up, n)) // parts are kept until the join succeeded
	}
	s.mu.Lock()
	up.done, up.joined = true, nums
	s.mu.Unlock()
	s.addStored(up.token, up.name, up.contentType, path, size, hex.EncodeToString(h.Sum(nil)))
	x.finish(http.StatusOK, map[string]string{})
}

// ServeOutputFiles returns a model output (JSON) whose every file object —
// an object with a "url" — points at a real file on the CDN, as real
// outputs point at fal's CDN: a small playable sample of the kind the
// object stands for (see mediaKind: a "video" field gets an MP4, an audio
// field an MP3, an image a PNG, a zip a ZIP), with content_type,
// file_size and file_name set to match the served bytes. A file object of
// no known kind gets a short text file, described as such. Output that is
// not JSON becomes {}.
func (s *Server) ServeOutputFiles(output json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(output, &v) != nil {
		return json.RawMessage(`{}`)
	}
	var walk func(field string, v any)
	walk = func(field string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if u, ok := v["url"].(string); ok {
				s.serveSample(field, u, v)
			}
			for k, x := range v {
				walk(k, x)
			}
		case []any:
			for _, x := range v {
				walk(field, x) // items of "images" are images
			}
		}
	}
	walk("", v)
	out, _ := json.Marshal(v)
	return out
}

// serveSample puts the sample for one file object on the CDN and points
// the object at it.
func (s *Server) serveSample(field, u string, file map[string]any) {
	name, _ := file["file_name"].(string)
	if name == "" {
		name = path.Base(u)
	}
	if name == "" || name == "." || name == "/" {
		name = "output"
	}
	ct, _ := file["content_type"].(string)
	stem := strings.TrimSuffix(name, path.Ext(name))
	sample, ok := samples[mediaKind(field, ct, name)]
	if !ok {
		sample = Sample{Ext: ".txt", ContentType: "text/plain; charset=utf-8", Data: []byte("faltest: no sample media for " + name + "\n")}
	}
	name = stem + sample.Ext
	file["url"] = s.AddFile(name, sample.ContentType, sample.Data)
	file["content_type"] = sample.ContentType
	file["file_name"] = name
	file["file_size"] = len(sample.Data)
}
