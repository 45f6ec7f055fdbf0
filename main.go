// Command fal-video-mcp is an MCP server that lets AI agents edit and
// generate video with fal.ai's video-to-video models.
//
// It serves MCP over stdio (the default). Logs go to stderr only: stdout
// belongs to the protocol. Every flag has an environment twin; the fal key
// is read from the environment only (FAL_KEY, or FAL_KEY_ID and
// FAL_KEY_SECRET), never from a flag, which other users could read.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/httpguard"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
	"github.com/fal-video-mcp/fal-video-mcp/tools/stdioguard"
	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/server"
)

// version is set at build time (-ldflags "-X main.version=…"); otherwise it
// comes from the module's build info (go install …@v1.2.3).
var version = ""

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// config is everything the command line and environment decide.
type config struct {
	logLevel       slog.Level
	logFormat      string
	queueURL       string
	restURL        string
	apiURL         string
	maxJobCost     *float64
	budget         *float64
	confirmAbove   *float64
	unknownCost    string // refuse, ask or allow; "": the default of the limits set
	dedupeWindow   time.Duration
	requestTimeout time.Duration
	maxWait        time.Duration
	dryRun         bool
	stateDir       string
	allowDirs      []string
	noRoots        bool
	maxUpload      int64
	maxDownload    int64
	outputDir      string
	download       bool
	tools          []string
	readOnly       bool
	transport      string
	listen         string
	authToken      falqueue.Secret
	allowedOrigins []string
	stateless      bool
	maxSessions    int
	sessionIdle    time.Duration
	showVersion    bool
}

// envFlag is a flag and its environment twin; the flag wins.
type envFlag struct {
	name, env, usage string
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet(tools.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg      config
		logLevel string

		maxJobCost, budget, confirmAbove, dedupeWindow string
		twins                                          []envFlag // applied after parsing, to flags not given
	)
	// Defaults are static: an environment value is never a flag's default,
	// so --help cannot print it (the auth token is one).
	str := func(p *string, f envFlag, fallback string) {
		fs.StringVar(p, f.name, fallback, f.usage+" (env "+f.env+")")
		twins = append(twins, f)
	}
	boolean := func(p *bool, f envFlag) {
		fs.BoolVar(p, f.name, false, f.usage+" (env "+f.env+"=1)")
		twins = append(twins, f)
	}
	str(&logLevel, envFlag{"log-level", "FAL_VIDEO_MCP_LOG_LEVEL", "log level: debug, info, warn or error"}, "info")
	str(&cfg.logFormat, envFlag{"log-format", "FAL_VIDEO_MCP_LOG_FORMAT", "log format on stderr: text (tint) or json"}, "text")
	str(&cfg.queueURL, envFlag{"queue-url", falqueue.EnvQueueURL, "base URL of fal's queue"}, falqueue.DefaultQueueURL)
	str(&cfg.restURL, envFlag{"rest-url", falqueue.EnvRestURL, "base URL of fal's REST API (storage)"}, falqueue.DefaultRestURL)
	str(&cfg.apiURL, envFlag{"api-url", falqueue.EnvAPIURL, "base URL of fal's Platform API (prices; the key is sent there)"}, falqueue.DefaultAPIURL)
	str(&maxJobCost, envFlag{"max-job-cost", "FAL_VIDEO_MCP_MAX_JOB_COST", "refuse a job estimated above this many USD (e.g. 2.50); default no limit"}, "")
	str(&budget, envFlag{"budget", "FAL_VIDEO_MCP_BUDGET", "refuse a job that would take the estimated spend of the last 24 h, across every process sharing the ledger, above this many USD; default none"}, "")
	str(&confirmAbove, envFlag{"confirm-above", "FAL_VIDEO_MCP_CONFIRM_ABOVE", "ask the user (MCP elicitation) before a job estimated above this many USD (and one of unknown cost, unless --unknown-cost says otherwise); default never"}, "")
	str(&cfg.unknownCost, envFlag{"unknown-cost", "FAL_VIDEO_MCP_UNKNOWN_COST", "what happens to a job whose cost cannot be estimated: refuse, ask (the user, by MCP elicitation) or allow; under ask and allow --budget counts it at --max-job-cost, else at the whole budget (default ask with --confirm-above, else refuse with --max-job-cost or --budget, else allow)"}, "")
	str(&dedupeWindow, envFlag{"dedupe-window", "FAL_VIDEO_MCP_DEDUPE_WINDOW", "a call identical to one submitted this recently returns that job instead of submitting again (0: off)"}, "10m")
	var timeout, maxWait string
	str(&timeout, envFlag{"request-timeout", "FAL_VIDEO_MCP_REQUEST_TIMEOUT", "timeout of each HTTP request to fal"}, "60s")
	str(&maxWait, envFlag{"max-wait", "FAL_VIDEO_MCP_MAX_WAIT", "the longest a tool call waits for a job (caps wait_seconds; keep it under your client's timeout)"}, "50s")
	boolean(&cfg.dryRun, envFlag{"dry-run", "FAL_VIDEO_MCP_DRY_RUN", "run against an offline fal emulator on 127.0.0.1: no key, no cost"})
	str(&cfg.stateDir, envFlag{"state-dir", "FAL_VIDEO_MCP_STATE_DIR", "where the job ledger lives (default $XDG_STATE_HOME/fal-video-mcp or ~/.local/state/fal-video-mcp; a temporary one in dry-run)"}, "")
	fs.Func("allow-dir", "a folder whose files media inputs may read and upload (repeatable; env FAL_VIDEO_MCP_ALLOW_DIRS, colon-separated)",
		func(v string) error { cfg.allowDirs = append(cfg.allowDirs, v); return nil })
	boolean(&cfg.noRoots, envFlag{"no-roots", "FAL_VIDEO_MCP_NO_ROOTS", "ignore the folders an MCP client shares as roots (roots count over stdio only; never over HTTP or SSE)"})
	var maxUpload, maxDownload string
	str(&maxUpload, envFlag{"max-upload-size", "FAL_VIDEO_MCP_MAX_UPLOAD_SIZE", "the largest local file that may be uploaded (e.g. 2GiB, 500MiB)"}, "2GiB")
	str(&maxDownload, envFlag{"max-download-size", "FAL_VIDEO_MCP_MAX_DOWNLOAD_SIZE", "the largest output file job_result saves (e.g. 4GiB, 500MiB)"}, "4GiB")
	str(&cfg.outputDir, envFlag{"output-dir", "FAL_VIDEO_MCP_OUTPUT_DIR", "where job_result saves output files (default a fal-video-mcp folder in ~/Downloads, else in your home)"}, "")
	boolean(&cfg.download, envFlag{"download", "FAL_VIDEO_MCP_DOWNLOAD", "save every finished job's output files into the output folder"})
	var toolList string
	str(&toolList, envFlag{"tools", "FAL_VIDEO_MCP_TOOLS", "comma-separated tool names or endpoint ids to expose (the job tools, upload_file and probe_media are always kept); default all"}, "")
	boolean(&cfg.readOnly, envFlag{"read-only", "FAL_VIDEO_MCP_READ_ONLY", "expose only job_status, job_result and job_list: nothing is submitted or spent"})
	str(&cfg.transport, envFlag{"transport", "FAL_VIDEO_MCP_TRANSPORT", "stdio, http (streamable HTTP at /mcp) or sse (legacy SSE at /sse and /message)"}, "stdio")
	str(&cfg.listen, envFlag{"listen", "FAL_VIDEO_MCP_LISTEN", "address for --transport http or sse"}, "127.0.0.1:8080")
	var token, origins string
	str(&token, envFlag{"auth-token", "FAL_VIDEO_MCP_AUTH_TOKEN", "bearer token HTTP clients must send; required to listen beyond loopback (prefer the env variable)"}, "")
	str(&origins, envFlag{"allowed-origins", "FAL_VIDEO_MCP_ALLOWED_ORIGINS", "comma-separated browser origins allowed to call the HTTP transports (none: on loopback, the listener's own origins only)"}, "")
	boolean(&cfg.stateless, envFlag{"stateless", "FAL_VIDEO_MCP_STATELESS", "streamable HTTP without sessions, for several replicas behind a load balancer"})
	var maxSessions, sessionIdle string
	str(&maxSessions, envFlag{"max-sessions", "FAL_VIDEO_MCP_MAX_SESSIONS", "the most live streamable HTTP sessions, and the most open legacy SSE connections; one beyond it gets 503"}, "1000")
	str(&sessionIdle, envFlag{"session-idle-timeout", "FAL_VIDEO_MCP_SESSION_IDLE_TIMEOUT", "a streamable HTTP session idle this long is dropped (its id then gets 404)"}, "30m")
	fs.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `%s %s — an MCP server for fal.ai's video-to-video models.

Usage: %[3]s [flags]                serve MCP (an MCP client starts it itself)
       %[3]s config CLIENT [flags]  print a client's configuration (claude-desktop,
                                    claude-code, vscode or cursor); --write merges it
       %[3]s doctor [--online]      check the key, folders and client configurations

Serves MCP over stdio (the default), streamable HTTP (--transport http, at
/mcp) or legacy SSE (--transport sse, at /sse and /message). Logs go to
stderr. The fal key is read from the environment: FAL_KEY, or FAL_KEY_ID
and FAL_KEY_SECRET.

Flags:
`, tools.Name, versionString(), tools.Name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags start with --; see --help)", fs.Arg(0))
	}
	// The environment fills in the flags not given on the command line.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, f := range twins {
		if v := getenv(f.env); v != "" && !given[f.name] {
			if err := fs.Set(f.name, v); err != nil {
				return cfg, fmt.Errorf("%s=%q: want 1, 0, true or false", f.env, v) // only booleans can fail here
			}
		}
	}
	if env := getenv("FAL_VIDEO_MCP_ALLOW_DIRS"); env != "" && !given["allow-dir"] {
		cfg.allowDirs = filepath.SplitList(env)
	}
	if err := cfg.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		return cfg, fmt.Errorf("--request-timeout %q: want a positive duration such as 60s", timeout)
	}
	cfg.requestTimeout = d
	if cfg.maxUpload, err = parseSize(maxUpload); err != nil {
		return cfg, fmt.Errorf("--max-upload-size %q: %v", maxUpload, err)
	}
	if cfg.maxDownload, err = parseSize(maxDownload); err != nil {
		return cfg, fmt.Errorf("--max-download-size %q: %v", maxDownload, err)
	}
	if cfg.maxWait, err = time.ParseDuration(maxWait); err != nil || cfg.maxWait < time.Second {
		return cfg, fmt.Errorf("--max-wait %q: want a duration of at least 1s, such as 50s", maxWait)
	}
	cfg.authToken = falqueue.Secret(token)
	if cfg.maxSessions, err = strconv.Atoi(maxSessions); err != nil || cfg.maxSessions < 1 {
		return cfg, fmt.Errorf("--max-sessions %q: want a whole number of at least 1", maxSessions)
	}
	if cfg.sessionIdle, err = time.ParseDuration(sessionIdle); err != nil || cfg.sessionIdle < time.Second {
		return cfg, fmt.Errorf("--session-idle-timeout %q: want a duration of at least 1s, such as 30m", sessionIdle)
	}
	if origins != "" {
		cfg.allowedOrigins = strings.Split(origins, ",")
	}
	for _, m := range []struct {
		name, raw string
		dst       **float64
	}{{"max-job-cost", maxJobCost, &cfg.maxJobCost}, {"budget", budget, &cfg.budget}, {"confirm-above", confirmAbove, &cfg.confirmAbove}} {
		if *m.dst, err = parseUSD(m.raw); err != nil {
			return cfg, fmt.Errorf("--%s %q: %v", m.name, m.raw, err)
		}
	}
	switch cfg.unknownCost { // "": tools.DefaultUnknownCost of the limits set
	case "", tools.UnknownCostRefuse, tools.UnknownCostAsk, tools.UnknownCostAllow:
	default:
		return cfg, fmt.Errorf("--unknown-cost %q: want refuse, ask or allow", cfg.unknownCost)
	}
	if cfg.dedupeWindow, err = time.ParseDuration(dedupeWindow); err != nil || cfg.dedupeWindow < 0 {
		return cfg, fmt.Errorf("--dedupe-window %q: want a duration such as 10m, or 0 to turn dedupe off", dedupeWindow)
	}
	if cfg.logFormat != "text" && cfg.logFormat != "json" {
		return cfg, fmt.Errorf("--log-format %q: want text or json", cfg.logFormat)
	}
	switch cfg.transport {
	case "stdio", "http", "sse":
	default:
		return cfg, fmt.Errorf("--transport %q: want stdio, http or sse", cfg.transport)
	}
	if toolList != "" {
		cfg.tools = strings.Split(toolList, ",")
	}
	if cfg.outputDir == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		if home == "" {
			home = os.TempDir()
		}
		cfg.outputDir = filepath.Join(home, "fal-video-mcp")
		if fi, err := os.Stat(filepath.Join(home, "Downloads")); err == nil && fi.IsDir() {
			cfg.outputDir = filepath.Join(home, "Downloads", "fal-video-mcp")
		}
	}
	return cfg, nil
}

// parseUSD reads an amount of US dollars ("2.50", "$2.50"); "" is nil.
func parseUSD(s string) (*float64, error) {
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(s), "$"), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errors.New("want an amount in USD of 0 or more, such as 2.50")
	}
	return &f, nil
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// startEmulator starts the offline fal of dry-run mode: every catalog
// endpoint answers, after a short queue and run with a few log lines, with
// the seed's example output, its files served by the emulator.
func startEmulator() *faltest.Server {
	emu := faltest.NewServer(faltest.Options{})
	for _, row := range schemas.Catalog {
		output := emu.ServeOutputFiles(schemas.ExampleOutput(row.Tool))
		emu.SetScript(row.ID, faltest.Script{
			Ahead:     1,
			QueueTime: 500 * time.Millisecond,
			RunTime:   1500 * time.Millisecond,
			Logs:      []string{"dry run: loading the model", "dry run: processing frames", "dry run: encoding the video"},
			Output:    output,
		})
	}
	return emu
}

// serveHTTP serves the streamable HTTP or SSE transport until ctx ends.
func serveHTTP(ctx context.Context, srv *server.MCPServer, cfg config, log *slog.Logger) int {
	if err := httpguard.CheckListen(cfg.listen, cfg.authToken != ""); err != nil {
		log.Error("not listening", "err", err)
		return 2
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.listen, "err", err)
		return 1
	}
	handler, _, shutdown := httpHandler(srv, cfg, ln.Addr().String(), log)
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving MCP over HTTP", "transport", cfg.transport, "addr", ln.Addr().String(), "version", versionString())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		log.Error("HTTP server stopped", "err", err)
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = shutdown(sctx)
	_ = hs.Shutdown(sctx)
	log.Info("stopped")
	return 0
}

// httpHandler is the HTTP face of srv for the listener at addr: the
// streamable HTTP transport at /mcp (sessions bounded in number and idle
// time unless stateless, each request's notifications on its own stream)
// or SSE at /sse and /message (connections bounded in number), behind the
// token, Origin and body checks; /healthz answers without a token and says
// nothing but "ok". sessions is nil but for stateful streamable HTTP.
func httpHandler(srv *server.MCPServer, cfg config, addr string, log *slog.Logger) (h http.Handler, sessions *httpguard.Sessions, shutdown func(context.Context) error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	guard := httpguard.Options{Token: string(cfg.authToken), AllowedOrigins: cfg.allowedOrigins, Open: []string{"/healthz"}, Listener: addr,
		MaxStreams: cfg.maxSessions, Stateless: cfg.stateless}
	switch cfg.transport {
	case "http":
		opts := []server.StreamableHTTPOption{server.WithEndpointPath("/mcp"), server.WithStreamableHTTPLogger(log)}
		if cfg.stateless {
			opts = append(opts, server.WithStateLess(true))
		} else {
			guard.Sessions = httpguard.NewSessions(cfg.maxSessions, cfg.sessionIdle)
			opts = append(opts, server.WithSessionIdManager(guard.Sessions), server.WithSessionIdleTTL(cfg.sessionIdle))
		}
		h := server.NewStreamableHTTPServer(srv, opts...)
		// Each POST's notifications go on its own stream (mcp-go would
		// share one channel among a session's streams, and among all
		// requests without sessions).
		mux.Handle("/mcp", httpguard.OwnStreams(h, func(ctx context.Context, send func(string, map[string]any) bool) context.Context {
			return tools.WithCallSender(ctx, send)
		}))
		shutdown = h.Shutdown
	case "sse":
		h := server.NewSSEServer(srv, server.WithSSEEndpoint("/sse"), server.WithMessageEndpoint("/message"))
		cancels := httpguard.NewSSECancels() // a cancelled request gets no response
		mux.Handle("/sse", cancels.Stream(h.SSEHandler()))
		mux.Handle("/message", cancels.Messages(h.MessageHandler()))
		shutdown = h.Shutdown
	}
	return httpguard.Wrap(mux, guard), guard.Sessions, shutdown
}

// parseSize reads a byte count: a number with an optional KiB, MiB, GiB
// (or KB, MB, GB) suffix.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive size such as 2GiB or 500MiB")
	}
	return n * mult, nil
}

// openLedger opens the job ledger. A ledger that cannot be used never
// stops the server: it says why on stderr and serves without history.
func openLedger(ctx context.Context, cfg config, getenv func(string) string, log *slog.Logger) (*ledger.Ledger, string) {
	dir := cfg.stateDir
	if dir == "" {
		var err error
		if dir, err = ledger.DefaultDir(getenv); err != nil {
			log.Error("no job ledger: jobs will not survive a restart", "err", err)
			return nil, err.Error()
		}
	}
	led, err := ledger.Open(ctx, dir)
	if err != nil {
		log.Error("no job ledger: jobs will not survive a restart; fix or move the file, or pass --state-dir", "err", err)
		return nil, err.Error()
	}
	log.Debug("job ledger", "path", led.Path())
	return led, ""
}

// newLogger logs to w (stderr): JSON lines, or tint text with colour only
// on a terminal.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	noColor := true
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			noColor = os.Getenv("NO_COLOR") != ""
		}
	}
	return slog.New(tint.NewHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly, NoColor: noColor}))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	args, getenv = fromBundle(args, getenv)
	if code, ok := runSubcommand(ctx, args, getenv, stdout, stderr); ok {
		return code
	}
	cfg, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tools.Name, err)
		return 2
	}
	if cfg.showVersion {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	log := newLogger(stderr, cfg.logLevel, cfg.logFormat)
	go tools.Prewarm() // the tools' schemas are reflected while the rest is set up

	falCfg := falqueue.ConfigFromEnv(getenv)
	falCfg.QueueURL, falCfg.RestURL, falCfg.APIURL = cfg.queueURL, cfg.restURL, cfg.apiURL
	// fal's prices, and the lengths of input URLs, are read for estimates
	// against fal itself: not in dry run, and not when the queue is some
	// other host (a proxy or emulator) unless the API host is set too.
	production := !cfg.dryRun && cfg.queueURL == falqueue.DefaultQueueURL
	livePrices := production || !cfg.dryRun && cfg.apiURL != falqueue.DefaultAPIURL
	var mediaOrigins []string // the player view may load outputs from here too
	if cfg.dryRun {
		emu := startEmulator()
		defer emu.Close()
		falCfg.Key, falCfg.QueueURL, falCfg.RestURL, falCfg.CDNURL = "", emu.QueueURL, emu.RestURL, emu.CDNURL
		mediaOrigins = []string{emu.CDNURL}
		log.Warn("dry run: fal is emulated on 127.0.0.1; nothing is sent to fal.ai and nothing is billed", "queue", emu.QueueURL)
	}
	falCfg.RequestTimeout = cfg.requestTimeout
	falCfg.UserAgent = tools.Name + "/" + versionString()
	falCfg.Logger = log.With("component", "falqueue")
	fal, err := falqueue.New(falCfg)
	if err != nil {
		log.Error("bad fal configuration", "err", err)
		return 2
	}
	noKey := falCfg.Key == "" && !cfg.dryRun
	if noKey {
		log.Warn("no fal key: set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET), or use --dry-run; tools are listed but submits are refused")
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal now ends the process at once
	}()
	if cfg.stateDir == "" && cfg.dryRun {
		// Dry-run jobs are make-believe: keep them out of the user's
		// history, in a ledger that goes away with the process.
		tmp, err := os.MkdirTemp("", "fal-video-mcp-dry-run-")
		if err != nil {
			log.Error("cannot create a temporary state directory", "err", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		cfg.stateDir = tmp
	}
	led, ledgerProblem := openLedger(ctx, cfg, getenv, log)
	var background sync.WaitGroup
	if led != nil {
		// Runs last: after the followers have stopped writing.
		defer led.Close()
	}

	files, err := localfile.NewPolicy(cfg.allowDirs, cfg.maxUpload)
	if err != nil {
		log.Error("bad --allow-dir", "err", err)
		return 2
	}
	output, err := localfile.NewOutputDir(cfg.outputDir)
	if err != nil {
		log.Error("bad --output-dir", "err", err)
		return 2
	}
	srv, err := tools.NewServer(tools.Options{Version: versionString(), Fal: fal, Logger: log, Files: files,
		Output: output, DownloadAlways: cfg.download, MaxDownloadSize: cfg.maxDownload, Tools: cfg.tools, ReadOnly: cfg.readOnly,
		MaxWait: cfg.maxWait, DryRun: cfg.dryRun, NoKey: noKey, MediaOrigins: mediaOrigins,
		Ledger: led, LedgerProblem: ledgerProblem, Context: ctx, Background: &background,
		MaxJobCost: cfg.maxJobCost, Budget: cfg.budget, ConfirmAbove: cfg.confirmAbove, UnknownCost: cfg.unknownCost, DedupeWindow: cfg.dedupeWindow,
		LivePrices: livePrices, ProbeInputURLs: production,
		// Roots count only when the client is the user's own application.
		ClientRoots: cfg.transport == "stdio" && !cfg.noRoots})
	if err != nil {
		log.Error("cannot build the tools", "err", err)
		return 1
	}

	if cfg.transport != "stdio" {
		code := serveHTTP(ctx, srv, cfg, log)
		stop()
		background.Wait()
		return code
	}
	log.Info("serving MCP over stdio", "version", versionString(), "queue", falCfg.QueueURL)
	stdio := server.NewStdioServer(srv)
	stdio.SetErrorLogger(slog.NewLogLogger(log.Handler(), slog.LevelError))
	// A request the client cancelled gets no response (mcp-go would send one).
	in, out := stdioguard.Wrap(stdin, stdout)
	err = stdio.Listen(ctx, in, out)
	stop() // stdin closed or a signal: stop the followers, then the ledger
	background.Wait()
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, io.EOF):
		log.Info("stopped")
		return 0
	default:
		log.Error("server stopped", "err", strings.TrimSpace(err.Error()))
		return 1
	}
}
