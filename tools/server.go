// Package tools is the MCP face of fal-video-mcp: it builds the MCP server,
// registers one tool per catalog endpoint plus the job tools, validates
// arguments, waits on jobs and shapes their results. With main.go it is the
// only place that speaks MCP; below it, falqueue speaks fal.
package tools

import (
	"log/slog"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/mark3labs/mcp-go/server"
)

// Name is the server's name in the MCP handshake.
const Name = "fal-video-mcp"

// Options are what the server is built from. Dependencies are injected;
// the package keeps no globals.
type Options struct {
	// Version is reported in the MCP handshake.
	Version string
	// Fal is the one queue client every tool shares.
	Fal *falqueue.Client
	// Logger receives the server's own log lines (stderr in production).
	Logger *slog.Logger
}

// instructions tell the model what the server is for and how to drive it.
const instructions = `fal-video-mcp edits and generates video with fal.ai's video-to-video models.
Each endpoint tool submits a job to fal's queue, where GPU work can take minutes; a tool waits a while and returns the job as it stands.
Follow an unfinished job with job_status (it can wait for the job), fetch the output with job_result, stop it with job_cancel, and see earlier jobs with job_list.
Inputs that take media take https URLs; every job costs money on the user's fal account, so submit only what the user asked for.`

// NewServer builds the MCP server with every enabled tool registered.
func NewServer(opts Options) *server.MCPServer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return server.NewMCPServer(Name, opts.Version,
		server.WithInstructions(instructions),
		server.WithToolCapabilities(true),
		server.WithLogging(),
		server.WithRecovery(),
	)
}
