package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client calls moor-server's REST API with a bearer token.
type Client struct {
	// BaseURL is http://host:port.
	BaseURL string
	// Token is sent as "Authorization: Bearer"; empty sends none.
	Token string
	// HTTP is the client used (default: one with a 30 s timeout).
	HTTP *http.Client
}

// APIError is a REST answer outside 2xx.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

// Client returns a REST client of moor-server that sends token.
func (s *Stack) Client(token string) *Client {
	return &Client{BaseURL: s.URL(), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Login logs user in through POST /api/v1/session and returns the session token.
func (s *Stack) Login(ctx context.Context, user, password string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := s.Client("").Do(ctx, http.MethodPost, "/api/v1/session", map[string]string{"username": user, "password": password}, &out)
	if err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", fmt.Errorf("login %s: no token in the answer", user)
	}
	return out.Token, nil
}

// Do sends a request with in (nil: no body; []byte: sent as is; else JSON-encoded) and decodes a JSON answer
// into out (nil: discarded). An answer outside 2xx is an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(v)
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(bytes.TrimSpace(data))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
