package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// clientLog sends an MCP log message to the calling client, if it asked
// for messages of this level (mcp-go filters by the session's level, or
// the request's in the 2026 era). It never carries secrets: only job ids,
// endpoints and statuses.
func clientLog(ctx context.Context, level mcp.LoggingLevel, message string, data map[string]any) {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return
	}
	data["message"] = message
	_ = srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(level, Name, data))
}
