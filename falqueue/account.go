package falqueue

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Target names where this client's jobs and uploads go — the queue host
// and the account — without the key: the queue URL, and a hash of the
// key's id (the part before ":" of "id:secret", or the whole key when it
// has no id) that cannot be turned back into the key. Two clients with the
// same Target submit to the same place, billed to the same account.
func (c *Client) Target() string {
	account := "none"
	if c.key.isSet() {
		id, _, _ := strings.Cut(c.key.reveal(), ":")
		sum := sha256.Sum256([]byte("fal-video-mcp account\x00" + id))
		account = hex.EncodeToString(sum[:16])
	}
	return "queue=" + c.queue.String() + " account=" + account
}
