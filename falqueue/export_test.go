package falqueue

// PeakPartBuffers reports the most part buffers c ever had handed out at
// once, for tests of the upload memory bound.
func PeakPartBuffers(c *Client) int {
	c.partBuffers.mu.Lock()
	defer c.partBuffers.mu.Unlock()
	return c.partBuffers.peak
}
