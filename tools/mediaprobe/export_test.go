package mediaprobe

// ParseFFprobe is parseFFprobe, for the tests.
var ParseFFprobe = parseFFprobe
