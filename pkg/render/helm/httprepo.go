package helm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/moorcd/moor/pkg/render"
)

// repoIndex is the part of a repository's index.yaml that a fetch needs. Reading only these fields keeps
// the parse of a large index (tens of MB for some public repositories) cheap.
type repoIndex struct {
	Entries map[string][]indexVersion `json:"entries"`
}

type indexVersion struct {
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest,omitempty"`
	Removed bool     `json:"removed,omitempty"`
}

func (s *ChartSource) fetchHTTP(ctx context.Context, ref ChartRef, creds Creds) (*Archive, error) {
	repoURL := strings.TrimSuffix(ref.RepoURL, "/")
	idx, err := s.index(ctx, repoURL, creds)
	if err != nil {
		return nil, err
	}
	entries := idx.Entries[ref.Chart]
	if len(entries) == 0 {
		return nil, fmt.Errorf("chart %q in %s: %w", ref.Chart, redact(repoURL), render.ErrNotFound)
	}
	versions := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.Removed {
			versions = append(versions, e.Version)
		}
	}
	version, err := pickVersion(ref.Version, versions)
	if err != nil {
		return nil, fmt.Errorf("chart %q in %s: %w", ref.Chart, redact(repoURL), err)
	}
	var entry indexVersion
	for _, e := range entries {
		if e.Version == version && !e.Removed {
			entry = e
			break
		}
	}
	if len(entry.URLs) == 0 {
		return nil, fmt.Errorf("chart %s-%s in %s has no URL", ref.Chart, version, redact(repoURL))
	}
	chartURL, err := resolveChartURL(repoURL, entry.URLs[0])
	if err != nil {
		return nil, err
	}
	digest := ""
	if entry.Digest != "" {
		digest = "sha256:" + strings.TrimPrefix(entry.Digest, "sha256:")
	}
	key := archiveKey(repoURL, ref.Chart, version, digest)
	if data := s.cached(key, digest); data != nil {
		return &Archive{Data: data, Version: version, Digest: sha256Digest(data), URL: redact(chartURL)}, nil
	}

	v, err, _ := s.flight.Do("archive\x00"+key+"\x00"+credsKey(creds), func() (any, error) {
		// Like Helm, send the repository's credentials only to the repository's own host unless told.
		sendCreds := ref.PassCredentials || sameHost(repoURL, chartURL)
		data, err := s.get(ctx, chartURL, creds, sendCreds, s.opts.MaxArchiveBytes, "chart archive")
		if err != nil {
			return nil, err
		}
		if digest != "" && sha256Digest(data) != digest {
			return nil, fmt.Errorf("chart archive %s: digest %s does not match the index (%s)", redact(chartURL), sha256Digest(data), digest)
		}
		s.store(key, data)
		return data, nil
	})
	if err != nil {
		return nil, err
	}
	data := v.([]byte)
	return &Archive{Data: data, Version: version, Digest: sha256Digest(data), URL: redact(chartURL)}, nil
}

// index returns the repository's index, cached for IndexTTL per repository and credentials.
func (s *ChartSource) index(ctx context.Context, repoURL string, creds Creds) (*repoIndex, error) {
	key := repoURL + "\x00" + credsKey(creds)
	s.mu.Lock()
	e, ok := s.indexes[key]
	s.mu.Unlock()
	if ok && s.opts.Now().Sub(e.fetched) < s.opts.IndexTTL {
		return e.idx, nil
	}
	v, err, _ := s.flight.Do("index\x00"+key, func() (any, error) {
		data, err := s.get(ctx, repoURL+"/index.yaml", creds, true, s.opts.MaxIndexBytes, "index.yaml")
		if err != nil {
			return nil, err
		}
		idx := &repoIndex{}
		if err := yaml.Unmarshal(data, idx); err != nil {
			return nil, fmt.Errorf("parse %s/index.yaml: %w", redact(repoURL), err)
		}
		s.mu.Lock()
		s.indexes[key] = indexEntry{idx: idx, fetched: s.opts.Now()}
		s.mu.Unlock()
		return idx, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*repoIndex), nil
}

// get downloads one URL with the repository's TLS options, optional credentials and a size cap.
func (s *ChartSource) get(ctx context.Context, rawURL string, creds Creds, sendCreds bool, max int64, what string) ([]byte, error) {
	t, err := s.transport(creds)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, redact(rawURL), err)
	}
	req.Header.Set("User-Agent", "moor-repo-server")
	if sendCreds {
		switch {
		case creds.Username != "" || creds.Password != "":
			req.SetBasicAuth(creds.Username, creds.Password)
		case creds.BearerToken != "":
			req.Header.Set("Authorization", "Bearer "+creds.BearerToken)
		}
	}
	client := &http.Client{Transport: t}
	resp, err := client.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s %s: %w", what, redact(rawURL), ctxErr)
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is already in our message, without credentials
		}
		return nil, fmt.Errorf("%s %s: %w: %w", what, redact(rawURL), ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(what+" "+redact(rawURL), resp.StatusCode)
	}
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%s %s is over %d bytes: %w", what, redact(rawURL), max, render.ErrTooLarge)
	}
	return readCapped(resp.Body, max, what+" "+redact(rawURL))
}

// resolveChartURL resolves an index entry's URL, which may be relative to the repository.
func resolveChartURL(repoURL, chartURL string) (string, error) {
	base, err := url.Parse(repoURL + "/")
	if err != nil {
		return "", fmt.Errorf("repository URL %s: %w", redact(repoURL), err)
	}
	u, err := url.Parse(chartURL)
	if err != nil {
		return "", fmt.Errorf("chart URL %s: %w", redact(chartURL), err)
	}
	resolved := base.ResolveReference(u)
	if resolved.Scheme != "http" && resolved.Scheme != "https" {
		return "", fmt.Errorf("chart URL %s: scheme %q is not allowed", redact(chartURL), resolved.Scheme)
	}
	return resolved.String(), nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}
