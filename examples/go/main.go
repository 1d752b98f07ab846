// A hello API in Go, protected by keyport's POST /keys/verify (standard library only).
//
//	npx --no-install keyport resourceserveradd -name hello-go     # prints client_id, client_secret
//	KEYPORT_CLIENT_ID=... KEYPORT_CLIENT_SECRET=... go run ./examples/go
//	curl -H "Authorization: Bearer $KEY" http://127.0.0.1:4002/projects
//	curl -H "x-api-key: $KEY" -X POST http://127.0.0.1:4002/runs     # needs the api:write scope
//
// Each call is one round trip to keyport: this example asks for no lease (a lease is honoured
// only by a process that also follows GET /keys/events, as the gateway check and @keyport/guard
// do, so that a revoked key is refused within a second). The answers are docs/contract.md's, as
// the guard gives them; the key may also be an OAuth access token.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// A route's required scopes; a route without any still needs a key with an API scope (keyport's
// /keys/verify checks the scopes it is given; the guard's rule for none is left to keyport here).
var routes = map[string][]string{"GET /projects": {}, "POST /runs": {"api:write"}}

// The part of keyport's /keys/verify answer this API uses.
type verdict struct {
	Valid      bool     `json:"valid"`
	Code       string   `json:"code"`
	ClientID   string   `json:"client_id"`
	TeamID     *int64   `json:"team_id"`
	Scopes     []string `json:"scopes"`
	RetryAfter int      `json:"retry_after"`
	RateLimit  *struct {
		Limit     int64 `json:"limit"`
		Remaining int64 `json:"remaining"`
		Reset     int64 `json:"reset"`
	} `json:"ratelimit"`
}

type keyport struct {
	issuer, clientID, secret string
	client                   *http.Client
}

// verify asks keyport whether this call may be made; nil when keyport cannot answer.
func (k *keyport) verify(key string, scopes []string, ip string) *verdict {
	body, _ := json.Marshal(map[string]any{"key": key, "scopes": scopes, "ip": ip})
	req, err := http.NewRequest(http.MethodPost, k.issuer+"/keys/verify", bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req.SetBasicAuth(k.clientID, k.secret)
	req.Header.Set("content-type", "application/json")
	res, err := k.client.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	var v verdict
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&v) != nil {
		return nil
	}
	return &v
}

func answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("content-type", "application/json")
	w.Header().Set("cache-control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

type refusalBody struct {
	Error      string `json:"error"`
	Message    string `json:"message,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

var invalid = refusalBody{Error: "invalid_api_key", Message: "API key is invalid or expired"}

// keyOf finds the one key a call carries: Authorization: Bearer, or x-api-key.
func keyOf(r *http.Request) string {
	if auth := r.Header.Get("authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return strings.TrimSpace(r.Header.Get("x-api-key"))
}

func (k *keyport) handle(w http.ResponseWriter, r *http.Request) {
	scopes, known := routes[r.Method+" "+r.URL.Path]
	if !known {
		answer(w, http.StatusNotFound, refusalBody{Error: "not_found"})
		return
	}
	key := keyOf(r)
	if key == "" {
		answer(w, http.StatusUnauthorized, invalid)
		return
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	v := k.verify(key, scopes, ip)
	if v == nil {
		// Never let a call through unverified.
		w.Header().Set("Retry-After", "1")
		answer(w, http.StatusServiceUnavailable, refusalBody{Error: "service_unavailable", Message: "API key verification is unavailable; try again"})
		return
	}
	if v.RateLimit != nil {
		w.Header().Set("X-RateLimit-Limit", strconv.FormatInt(v.RateLimit.Limit, 10))
		w.Header().Set("X-RateLimit-Remaining", strconv.FormatInt(v.RateLimit.Remaining, 10))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(v.RateLimit.Reset, 10))
	}
	switch v.Code {
	case "VALID":
		if r.URL.Path == "/projects" {
			answer(w, http.StatusOK, map[string]any{"team_id": v.TeamID, "projects": []map[string]any{{"id": 1, "name": "Checkout"}}})
		} else {
			answer(w, http.StatusCreated, map[string]any{"run": 42, "by": v.ClientID})
		}
	case "RATE_LIMITED":
		wait := v.RetryAfter
		if wait < 1 {
			wait = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		answer(w, http.StatusTooManyRequests, refusalBody{Error: "rate_limit_exceeded", RetryAfter: wait})
	case "USAGE_EXCEEDED":
		answer(w, http.StatusTooManyRequests, refusalBody{Error: "usage_exceeded", Message: "the API key has used up its quota"})
	case "INSUFFICIENT_SCOPE":
		answer(w, http.StatusForbidden, refusalBody{Error: "insufficient_permissions", Message: "this call needs the scopes: " + strings.Join(scopes, " ")})
	case "NO_API_ACCESS":
		answer(w, http.StatusForbidden, refusalBody{Error: "insufficient_permissions", Message: "the team's plan does not include API access"})
	default:
		// NOT_FOUND, EXPIRED, REVOKED: the same answer, with no hint which.
		answer(w, http.StatusUnauthorized, invalid)
	}
}

func main() {
	issuer := strings.TrimRight(os.Getenv("KEYPORT_ISSUER"), "/")
	if issuer == "" {
		issuer = "http://localhost:3000"
	}
	k := &keyport{
		issuer:   issuer,
		clientID: os.Getenv("KEYPORT_CLIENT_ID"),
		secret:   os.Getenv("KEYPORT_CLIENT_SECRET"),
		client:   &http.Client{Timeout: 2 * time.Second},
	}
	if k.clientID == "" || k.secret == "" {
		fmt.Fprintln(os.Stderr, "set KEYPORT_CLIENT_ID and KEYPORT_CLIENT_SECRET (keyport resourceserveradd)")
		os.Exit(2)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "4002"
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("hello-go on http://%s, protected by keyport\n", listener.Addr())
	fmt.Fprintln(os.Stderr, http.Serve(listener, http.HandlerFunc(k.handle)))
	os.Exit(1)
}
