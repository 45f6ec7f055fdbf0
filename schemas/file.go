package schemas

// File is fal's File type, used for every file an endpoint returns. Only url is
// required (fal-endpoints.json); the seed's example outputs often carry nothing
// else.
type File struct {
	URL         string `json:"url" jsonschema:"required" jsonschema_description:"The URL where the file can be downloaded from."`
	ContentType string `json:"content_type,omitempty" jsonschema_description:"The mime type of the file."`
	FileName    string `json:"file_name,omitempty" jsonschema_description:"The name of the file. It will be auto-generated if not provided."`
	FileSize    int64  `json:"file_size,omitempty" jsonschema_description:"The size of the file in bytes."`
	FileData    string `json:"file_data,omitempty" jsonschema_description:"File data."`
}
