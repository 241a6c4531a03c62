package helm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/moorcd/moor/pkg/render"
)

// Media types of a Helm chart stored in an OCI registry.
const (
	ChartConfigMediaType       = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType        = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	legacyChartLayerMediaType  = "application/tar+gzip"
	ociVersionTagPlusSubstitue = "_" // OCI tags cannot hold "+"; Helm writes "_" instead
)

// fetchOCI pulls a chart from an OCI registry with go-containerregistry: exact versions are pulled by tag,
// constraints are resolved over the repository's tags (cached for IndexTTL).
func (s *ChartSource) fetchOCI(ctx context.Context, ref ChartRef, creds Creds) (*Archive, error) {
	repoPath := strings.Trim(strings.TrimPrefix(ref.RepoURL, "oci://"), "/")
	if ref.Chart != "" {
		repoPath += "/" + strings.Trim(ref.Chart, "/")
	}
	var nameOpts []name.Option
	if creds.PlainHTTP {
		nameOpts = append(nameOpts, name.Insecure)
	}
	repo, err := name.NewRepository(repoPath, nameOpts...)
	if err != nil {
		return nil, &render.Error{Err: fmt.Errorf("OCI chart reference %q: %w", repoPath, err)}
	}
	t, err := s.transport(creds)
	if err != nil {
		return nil, err
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(t),
		remote.WithAuth(ociAuth(creds)),
		remote.WithUserAgent("moor-repo-server"),
	}

	version, err := s.ociVersion(ctx, repo, ref.Version, creds, opts)
	if err != nil {
		return nil, fmt.Errorf("OCI chart %s: %w", repo, err)
	}
	tag := repo.Tag(strings.ReplaceAll(version, "+", ociVersionTagPlusSubstitue))
	desc, err := remote.Get(tag, opts...)
	if err != nil {
		return nil, ociError("OCI chart "+tag.String(), err)
	}
	if desc.MediaType.IsIndex() {
		return nil, &render.Error{Err: fmt.Errorf("OCI chart %s is an image index, not a Helm chart", tag)}
	}
	manifest, err := v1.ParseManifest(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		return nil, &render.Error{Err: fmt.Errorf("OCI chart %s: manifest: %w", tag, err)}
	}
	if manifest.Config.MediaType != ChartConfigMediaType {
		return nil, &render.Error{Err: fmt.Errorf("OCI artifact %s is not a Helm chart (config media type %q)", tag, manifest.Config.MediaType)}
	}
	var layer *v1.Descriptor
	for i := range manifest.Layers {
		switch manifest.Layers[i].MediaType {
		case ChartLayerMediaType, legacyChartLayerMediaType:
			layer = &manifest.Layers[i]
		}
	}
	if layer == nil {
		return nil, &render.Error{Err: fmt.Errorf("OCI chart %s has no chart layer (%s)", tag, ChartLayerMediaType)}
	}
	if layer.Size > s.opts.MaxArchiveBytes {
		return nil, fmt.Errorf("OCI chart %s: layer of %d bytes is over %d: %w", tag, layer.Size, s.opts.MaxArchiveBytes, render.ErrTooLarge)
	}
	digest := layer.Digest.String()
	key := archiveKey("oci://"+repo.String(), ref.Chart, version, digest)
	if data := s.cached(key, digest); data != nil {
		return &Archive{Data: data, Version: version, Digest: digest, URL: "oci://" + tag.String()}, nil
	}
	v, err, _ := s.flight.Do("archive\x00"+key+"\x00"+credsKey(creds), func() (any, error) {
		l, err := remote.Layer(repo.Digest(digest), opts...)
		if err != nil {
			return nil, ociError("OCI chart layer "+digest, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, ociError("OCI chart layer "+digest, err)
		}
		defer rc.Close()
		data, err := readCapped(rc, s.opts.MaxArchiveBytes, "OCI chart layer "+digest)
		if err != nil {
			return nil, ociError("OCI chart layer "+digest, err)
		}
		if got := sha256Digest(data); got != digest {
			return nil, fmt.Errorf("OCI chart layer: digest %s does not match the manifest (%s)", got, digest)
		}
		s.store(key, data)
		return data, nil
	})
	if err != nil {
		return nil, err
	}
	return &Archive{Data: v.([]byte), Version: version, Digest: digest, URL: "oci://" + tag.String()}, nil
}

// ociVersion resolves want to a chart version. An exact semver version is used as is, with no tag listing
// (registries may forbid listing); a constraint or "latest" lists the tags.
func (s *ChartSource) ociVersion(ctx context.Context, repo name.Repository, want string, creds Creds, opts []remote.Option) (string, error) {
	want = strings.TrimSpace(want)
	if want != "" && want != "*" && isExactVersion(want) {
		return want, nil
	}
	key := "oci://" + repo.String() + "\x00" + credsKey(creds)
	s.mu.Lock()
	e, ok := s.tags[key]
	s.mu.Unlock()
	if !ok || s.opts.Now().Sub(e.fetched) >= s.opts.IndexTTL {
		v, err, _ := s.flight.Do("tags\x00"+key, func() (any, error) {
			tags, err := remote.List(repo, opts...)
			if err != nil {
				return nil, ociError("list tags", err)
			}
			for i, t := range tags {
				tags[i] = strings.ReplaceAll(t, ociVersionTagPlusSubstitue, "+")
			}
			s.mu.Lock()
			s.tags[key] = tagsEntry{tags: tags, fetched: s.opts.Now()}
			s.mu.Unlock()
			return tags, nil
		})
		if err != nil {
			return "", err
		}
		e.tags = v.([]string)
	}
	return pickVersion(want, e.tags)
}

// isExactVersion reports a plain semver version ("1.2.3", "1.2.3-rc.1+build.7") rather than a constraint.
func isExactVersion(v string) bool {
	_, err := semver.StrictNewVersion(v)
	return err == nil
}

func ociAuth(c Creds) authn.Authenticator {
	switch {
	case c.Username != "" || c.Password != "":
		return &authn.Basic{Username: c.Username, Password: c.Password}
	case c.BearerToken != "":
		return &authn.Bearer{Token: c.BearerToken}
	default:
		return authn.Anonymous
	}
}

// ociError maps registry errors to the package's errors.
func ociError(what string, err error) error {
	if errors.Is(err, render.ErrTooLarge) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return fmt.Errorf("%s: %w", what, render.ErrNotFound)
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("%s: %w", what, ErrUnauthorized)
			}
		}
		return statusError(what, terr.StatusCode)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
}

// Check verifies that a chart repository answers with these credentials: a Helm HTTP repository serves its
// index.yaml; an OCI registry accepts a login to its /v2/ endpoint.
func (s *ChartSource) Check(ctx context.Context, repoURL string, creds Creds) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if !IsOCI(repoURL, creds) {
		_, err := s.index(ctx, repoURL, creds)
		return err
	}
	host := strings.Trim(strings.TrimPrefix(repoURL, "oci://"), "/")
	host, _, _ = strings.Cut(host, "/")
	var nameOpts []name.Option
	if creds.PlainHTTP {
		nameOpts = append(nameOpts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nameOpts...)
	if err != nil {
		return &render.Error{Err: fmt.Errorf("OCI registry %q: %w", host, err)}
	}
	t, err := s.transport(creds)
	if err != nil {
		return err
	}
	_, err = remote.Catalog(ctx, reg, remote.WithTransport(t), remote.WithAuth(ociAuth(creds)), remote.WithPageSize(1))
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusNotFound || terr.StatusCode == http.StatusMethodNotAllowed) {
		return nil // registries may hide the catalog; reaching it authenticated is enough
	}
	if err != nil {
		return ociError("OCI registry "+host, err)
	}
	return nil
}
