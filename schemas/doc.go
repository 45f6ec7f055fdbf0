// Package schemas is the data room of the house: Go structs for the input and
// output of every fal endpoint the server exposes, the one catalog table that
// lists those endpoints, the cross-field rules JSON Schema cannot express, and
// the reflection of the structs into the JSON Schemas the tools advertise.
//
// The source of truth for every field is the seed document
// (../shared/seeds/000_c8970e9d1ace48f3.txt, each endpoint's "5. Schema"
// section). Where the seed is silent (which fields are required, numeric
// ranges, nested types) the facts come from fal's published schemas as
// collected in ../shared/fal-endpoints.json; a comment on the field says so.
// Where the two disagree the seed wins and a comment says what fal publishes.
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
// Adding an endpoint is one struct pair (one file per endpoint family) plus one
// row in Catalog; nothing else changes.
//
// schemas imports nothing of ours.
package schemas
