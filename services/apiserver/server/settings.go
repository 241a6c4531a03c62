package server

import (
	"context"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/settings"
	"github.com/moorcd/moor/services/apiserver/sso"
)

// SettingsServer implements moor.api.v1.SettingsService: the public settings from argocd-cm.
type SettingsServer struct {
	apiv1.UnimplementedSettingsServiceServer
	*core
}

// Get returns the public settings. It needs no login, so it reveals nothing secret.
func (s *SettingsServer) Get(ctx context.Context, _ *apiv1.SettingsServiceGetRequest) (*apiv1.SettingsServiceGetResponse, error) {
	data := s.d.Settings()
	flag := func(key string) bool { b, _ := strconv.ParseBool(strings.TrimSpace(data[key])); return b }
	def := settings.Defaults()
	out := &apiv1.Settings{
		Url:                    strings.TrimSpace(data["url"]),
		AppLabelKey:            def.InstanceLabelKey,
		TrackingMethod:         def.TrackingMethod,
		StatusBadgeEnabled:     flag("statusbadge.enabled"),
		StatusBadgeRootUrl:     strings.TrimSpace(data["statusbadge.url"]),
		UserLoginsDisabled:     strings.TrimSpace(data["admin.enabled"]) == "false" && !hasAccounts(data),
		UiCssUrl:               data["ui.cssurl"],
		UiBannerContent:        data["ui.bannercontent"],
		UiBannerUrl:            data["ui.bannerurl"],
		UiBannerPermanent:      flag("ui.bannerpermanent"),
		UiBannerPosition:       data["ui.bannerposition"],
		PasswordPattern:        "^.{8,32}$",
		ExecEnabled:            flag("exec.enabled"),
		InstallationId:         strings.TrimSpace(data["installationID"]),
		ControllerNamespace:    s.d.Namespace,
		KustomizeOptions:       &apiv1.KustomizeOptions{BuildOptions: data["kustomize.buildOptions"]},
		Help:                   &apiv1.HelpConfig{ChatUrl: data["help.chatUrl"], ChatText: data["help.chatText"]},
		SyncWithReplaceAllowed: true,
	}
	if v := strings.TrimSpace(data["application.instanceLabelKey"]); v != "" {
		out.AppLabelKey = v
	}
	if v := strings.TrimSpace(data["application.resourceTrackingMethod"]); v != "" {
		out.TrackingMethod = v
	}
	if v := strings.TrimSpace(data["passwordPattern"]); v != "" {
		out.PasswordPattern = v
	}
	out.OidcConfig = publicOIDC(data["oidc.config"])
	return &apiv1.SettingsServiceGetResponse{Settings: out}, nil
}

// publicOIDC is what clients may know of oidc.config (the CLI needs the issuer to offer --sso): never the
// client secret, nor a client id kept in argocd-secret.
func publicOIDC(raw string) *apiv1.OIDCConfig {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	var c sso.Config
	if err := yaml.Unmarshal([]byte(raw), &c); err != nil || c.Issuer == "" {
		return nil
	}
	out := &apiv1.OIDCConfig{Name: c.Name, Issuer: c.Issuer, Scopes: c.RequestedScopes, EnablePkceAuthentication: c.EnablePKCEAuthentication}
	if !strings.HasPrefix(c.ClientID, "$") {
		out.ClientId = c.ClientID
	}
	return out
}

func hasAccounts(data map[string]string) bool {
	for k := range data {
		if strings.HasPrefix(k, "accounts.") {
			return true
		}
	}
	return false
}

// GetPlugins lists the config management plugins. Moor renders Helm, Kustomize, Jsonnet and plain manifests
// in-process and runs no plugin sidecars, so the list is empty.
func (s *SettingsServer) GetPlugins(context.Context, *apiv1.SettingsServiceGetPluginsRequest) (*apiv1.SettingsServiceGetPluginsResponse, error) {
	return &apiv1.SettingsServiceGetPluginsResponse{}, nil
}
