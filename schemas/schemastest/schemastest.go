// Package schemastest holds a throwaway endpoint for the tests that show
// adding an endpoint is one struct pair plus one catalog row: with Mirror
// appended to the catalog, tools/list, validation, dry-run and snapshots
// follow with no other edit. Nothing outside tests imports it.
package schemastest

import (
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
)

// MirrorInput is the input of the throwaway endpoint: the shape of a real
// one (a required media field, an enum with a default, a range, an
// optional media field a mode needs).
type MirrorInput struct {
	VideoURL        string  `json:"video_url" fal:"media" jsonschema:"required" jsonschema_description:"URL of the video to mirror."`
	Mode            *string `json:"mode,omitempty" jsonschema:"enum=flip,enum=overlay,default=flip" jsonschema_description:"flip mirrors the picture; overlay also lays overlay_image_url over it."`
	Seconds         *int    `json:"seconds,omitempty" jsonschema:"minimum=1,maximum=10,default=5" jsonschema_description:"How many seconds of the video to mirror."`
	OverlayImageURL *string `json:"overlay_image_url,omitempty" fal:"media" jsonschema_description:"URL of the image to overlay. Mode overlay needs it."`
}

// Check: mode overlay needs overlay_image_url.
func (in MirrorInput) Check() error {
	if in.Mode != nil && *in.Mode == "overlay" && (in.OverlayImageURL == nil || *in.OverlayImageURL == "") {
		return &schemas.FieldError{Field: "overlay_image_url", Allowed: "mode overlay needs overlay_image_url (the image to lay over the video)"}
	}
	return nil
}

// MirrorOutput is its result: a video and a thumbnail image.
type MirrorOutput struct {
	Video     schemas.File  `json:"video" jsonschema:"required" jsonschema_description:"The mirrored video."`
	Thumbnail *schemas.File `json:"thumbnail,omitempty" jsonschema_description:"A still of the mirrored video."`
}

// Mirror is the throwaway endpoint's catalog row. Its examples travel with
// it (a real row's live in schemas/examples/).
var Mirror = schemas.Endpoint{
	ID:    "fal-ai/throwaway/mirror",
	Tool:  "mirror_video",
	Title: "Throwaway: mirror a video",
	Purpose: "Mirrors a video left to right, a throwaway endpoint that exists only in tests. Give video_url (required); " +
		"mode overlay also lays overlay_image_url over the picture; seconds (1 to 10) sets how much is mirrored.",
	Input:  reflect.TypeFor[MirrorInput](),
	Output: reflect.TypeFor[MirrorOutput](),
	Examples: fstest.MapFS{
		"mirror_video.input.json": {Data: []byte(`{"video_url":"https://v3.fal.media/files/throwaway/in.mp4","mode":"overlay",` +
			`"overlay_image_url":"https://v3.fal.media/files/throwaway/logo.png","seconds":3}`)},
		"mirror_video.output.json": {Data: []byte(`{"video":{"url":"https://v3.fal.media/files/throwaway/out.mp4"},` +
			`"thumbnail":{"url":"https://v3.fal.media/files/throwaway/still.jpg"}}`)},
	},
}

// AddToCatalog appends rows to schemas.Catalog until the test ends, after
// checking them as the package checks its own. It writes a package
// variable that servers read: call it only in a process of its own (see
// InOwnProcess), never beside servers of other tests.
func AddToCatalog(t testing.TB, rows ...schemas.Endpoint) {
	t.Helper()
	saved := schemas.Catalog
	catalog := append(slices.Clip(saved), rows...)
	if err := schemas.CheckCatalog(catalog); err != nil {
		t.Fatal(err)
	}
	schemas.Catalog = catalog
	t.Cleanup(func() { schemas.Catalog = saved })
}

const ownProcessEnv = "SCHEMASTEST_OWN_PROCESS"

// InOwnProcess reports whether the test runs in a process of its own, for
// a test that changes the catalog. If not, it runs the test again alone
// in a child process of the same test binary, reports its failures, and
// returns false: the caller then returns at once.
func InOwnProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv(ownProcessEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), ownProcessEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()+" ") {
		t.Fatalf("%s in its own process: %v\n%s", t.Name(), err, out)
	}
	t.Logf("%s passed in its own process", t.Name())
	return false
}
