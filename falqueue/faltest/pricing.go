package faltest

import (
	"net/http"
	"sort"
)

// Price is one endpoint's price as fal's Platform API answers it.
type Price struct {
	EndpointID string  `json:"endpoint_id"`
	UnitPrice  float64 `json:"unit_price"`
	Unit       string  `json:"unit"`
	Currency   string  `json:"currency"`
}

// SetPrice sets the price GET /v1/models/pricing answers for an endpoint
// (Currency defaults to USD). Endpoints without one are left out of the
// answer, as fal leaves out those it publishes no price for.
func (s *Server) SetPrice(p Price) {
	if p.Currency == "" {
		p.Currency = "USD"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prices[p.EndpointID] = p
}

// pricePage is how many prices one answer carries; more pages follow by
// next_cursor.
const pricePage = 2

// serveAPI is fal's Platform API host: GET /v1/models/pricing with one or
// more endpoint_id parameters answers {"prices","has_more","next_cursor"}.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/v1/models/pricing" {
		x := s.begin(w, r, "api", OpUnknown, false)
		x.json(http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	x := s.begin(w, r, "api", OpPrices, false)
	if !x.checkKey() || x.applyFault(s.takeFault(OpPrices)) {
		return
	}
	ids := r.URL.Query()["endpoint_id"]
	if len(ids) == 0 {
		x.json(http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{{
			"loc": []string{"query", "endpoint_id"}, "msg": "Field required", "type": "missing"}}})
		return
	}
	sort.Strings(ids)
	s.mu.Lock()
	var all []Price
	for _, id := range ids {
		if p, ok := s.prices[id]; ok {
			all = append(all, p)
		}
	}
	s.mu.Unlock()
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		for i, p := range all {
			if p.EndpointID == c {
				start = i
			}
		}
	}
	end := min(start+pricePage, len(all))
	var next any
	if end < len(all) {
		next = all[end].EndpointID
	}
	page := all[start:end]
	if page == nil {
		page = []Price{}
	}
	x.finish(http.StatusOK, map[string]any{"prices": page, "has_more": end < len(all), "next_cursor": next})
}
