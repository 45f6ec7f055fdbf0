package falqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Price is an endpoint's price as fal's Platform API states it for the
// key's account: UnitPrice in Currency per Unit ("video", "second",
// "megapixels" …).
type Price struct {
	EndpointID string  `json:"endpoint_id"`
	UnitPrice  float64 `json:"unit_price"`
	Unit       string  `json:"unit"`
	Currency   string  `json:"currency"`
}

// pricesPolicy: a read, safe to repeat.
var pricesPolicy = policy{op: "prices", auth: true, retries: 2, max: 5 * time.Second,
	retryOn: codeIn(429, 500, 502, 503, 504)}

// maxPricePages bounds how many pages Prices follows.
const maxPricePages = 20

// Prices asks fal's Platform API for the prices of the given endpoints
// (GET {api}/v1/models/pricing?endpoint_id=…), following next_cursor
// while has_more. Endpoints fal publishes no price for are left out of
// the answer.
func (c *Client) Prices(ctx context.Context, endpointIDs ...string) ([]Price, error) {
	var out []Price
	cursor := ""
	for page := 0; page < maxPricePages; page++ {
		u := joinURL(c.api, "v1", "models", "pricing")
		q := url.Values{}
		for _, id := range endpointIDs {
			q.Add("endpoint_id", id)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		u.RawQuery = q.Encode()
		resp, err := c.do(ctx, pricesPolicy, request{method: http.MethodGet, url: u})
		if err != nil {
			return nil, err
		}
		var body struct {
			Prices     []Price `json:"prices"`
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			return nil, fmt.Errorf("falqueue: prices: fal's answer is not the pricing JSON: %v", err)
		}
		out = append(out, body.Prices...)
		if !body.HasMore || body.NextCursor == nil || *body.NextCursor == "" || *body.NextCursor == cursor {
			return out, nil
		}
		cursor = *body.NextCursor
	}
	return out, nil
}
