// Package schemas is the data room of the house: Go structs for the input and
// output of every fal endpoint the server exposes, the one catalog table that
// lists those endpoints, the cross-field rules JSON Schema cannot express, and
// the reflection of the structs into the JSON Schemas the tools advertise.
//
// The source of truth for every field is the "Schema" section of each
// endpoint's page in fal's documentation (the project's seed document, kept
// with its planning notes outside this repository); the example inputs and
// outputs in examples/ are taken from the same pages. Where the docs are
// silent (which fields are required, numeric ranges, nested types) the facts
// come from fal's published OpenAPI schemas for the endpoint; a comment on
// the field says so. Where the two disagree the page wins and a comment says
// what the OpenAPI schema publishes.
//
// Conventions every input struct follows:
//
//   - Required fields carry `jsonschema:"required"` and no omitempty.
//   - Optional scalars are pointers with omitempty, so a field the caller left
//     out is not sent to fal, and a field the caller set (even to 0, false or
//     "") is sent as given.
//   - Optional lists use omitzero, so a missing list is not sent and an empty
//     list the caller sent ([]) is sent as [].
//   - Defaults, enums and ranges are struct tags; commas inside a default value
//     are escaped as `\\,` (invopop's tag syntax).
//
// Adding an endpoint:
//
//  1. Write its input and output structs in the file of its family (a new
//     file for a new family), following the conventions above; mark media
//     fields fal:"media,<kind>" with kind video, image or audio (they then
//     take local files too, and a data: URI there must be of that kind);
//     give the input
//     a Check method if the seed states rules across fields.
//  2. Add its row to Catalog: endpoint id, tool name, title, purpose and
//     the two types.
//  3. Put its example input and output beside the schemas, as
//     examples/<tool>.input.json and examples/<tool>.output.json (the
//     seed's, from the "5. Schema" section). A row without them stops the
//     program at start-up with a message naming the missing file.
//  4. Regenerate the tool snapshots (UPDATE_SNAPSHOTS=1 go test ./tools),
//     the README's tool table (go test -run TestReadmeToolTable
//     -update-readme .), and review the diffs.
//
// Nothing else changes: the tools layer registers, describes, validates,
// runs and shapes the new tool from its row; dry-run serves its example
// output with real media; the tests derive their tables and counts from
// Catalog. schemastest.Mirror is a throwaway endpoint added this way in
// tests to keep that true.
//
// schemas imports nothing of ours.
package schemas
