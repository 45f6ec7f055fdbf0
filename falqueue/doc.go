// Package falqueue is a Go client for fal.ai's queue and storage APIs: the
// bottom room of fal-video-mcp, and nothing but fal's wire protocol. It knows
// nothing of MCP.
//
// A Client submits a model input to an endpoint's queue and returns a Handle;
// with the handle a caller reads the job's Status, follows it with Wait (fal's
// SSE status stream, falling back to polling), fetches the Result and can
// Cancel it. Upload puts a file on fal's CDN (multipart above 90 MiB) so that
// it can be passed to a model as a URL.
//
// The client follows fal's protocol as written down in PROTOCOL.md, beside this
// file; the §N.M references in comments point at its sections:
//
//   - Status, result and cancel go to the URLs fal returned at submit; a handle
//     rebuilt from a bare request id uses owner/alias URLs (the endpoint's
//     sub-path dropped, the workflows/ and comfy/ namespaces kept).
//   - Every call is retried with exponential backoff and jitter according to
//     its own policy. Submit is retried only when the request provably created
//     no job; when the outcome is unknown the caller gets a *SubmitUnknownError.
//   - Failures are typed: *APIError, *ValidationError (fal's 422 detail with
//     field locations), *SubmitUnknownError, *ForeignURLError.
//   - The fal key is sent only to the configured queue and REST hosts, never
//     to upload or file URLs, and never appears in an error or a log line.
package falqueue
