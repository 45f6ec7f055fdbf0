package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// CallSender delivers a notification of one request on that request's
// own stream (over streamable HTTP, the stream of the POST that carried
// it). It reports whether the notification went out; one that cannot go
// on its own stream goes nowhere.
type CallSender func(method string, params map[string]any) bool

type callSenderKey struct{}

// WithCallSender gives the requests served under ctx their own sender:
// the progress and log notifications of a tool call then go through it,
// never through mcp-go's session channel. Over streamable HTTP that
// channel is shared by the session's standing GET stream and every POST
// stream (and, without sessions, by requests of different clients), so
// what goes through it may arrive on another stream, out of order, or at
// another client.
func WithCallSender(ctx context.Context, send CallSender) context.Context {
	return context.WithValue(ctx, callSenderKey{}, send)
}

// notifyCall sends a notification of the call ctx belongs to: through the
// call's own sender if its transport gave one, else through the session
// (stdio, legacy SSE and in-process sessions have one stream each).
func notifyCall(ctx context.Context, method string, params map[string]any) {
	if send, ok := ctx.Value(callSenderKey{}).(CallSender); ok {
		send(method, params)
		return
	}
	if srv := server.ServerFromContext(ctx); srv != nil {
		_ = srv.SendNotificationToClient(ctx, method, params)
	}
}

// clientLog sends an MCP log message to the calling client, if it asked
// for messages of this level (the session's level, or the request's in
// the 2026 era). It never carries secrets: only job ids, endpoints and
// statuses.
func clientLog(ctx context.Context, level mcp.LoggingLevel, message string, data map[string]any) {
	data["message"] = message
	send, ok := ctx.Value(callSenderKey{}).(CallSender)
	if !ok {
		if srv := server.ServerFromContext(ctx); srv != nil {
			_ = srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(level, Name, data))
		}
		return
	}
	if !wantsLog(ctx, level) {
		return
	}
	send(string(mcp.MethodNotificationMessage), map[string]any{"level": level, "logger": Name, "data": data})
}

// wantsLog applies mcp-go's rule (server.MCPServer.SendLogMessageToClient)
// to a message sent through a call's own sender: in the 2026 era a request
// gets log messages only if it declared a level; before, the session's
// level (logging/setLevel) decides.
func wantsLog(ctx context.Context, level mcp.LoggingLevel) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.LogLevel != "" && level.ShouldSendTo(info.LogLevel)
	}
	session, ok := server.ClientSessionFromContext(ctx).(server.SessionWithLogging)
	return ok && level.ShouldSendTo(session.GetLogLevel())
}
