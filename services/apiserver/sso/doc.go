// Package sso logs users in through an OpenID Connect provider, the direct OIDC of Argo CD: argocd-cm
// `oidc.config` names the provider and the client, and the browser flow runs on /auth/login and
// /auth/callback.
//
// GET /auth/login?return_url=<path> redirects to the provider's authorization endpoint with a random state,
// a nonce and, when `enablePKCEAuthentication` is true, a PKCE S256 challenge. State, nonce, verifier,
// callback URL and return URL ride in a cookie for five minutes, signed (HMAC-SHA256) with a key derived from
// server.secretkey. GET /auth/callback checks the state against that cookie, exchanges the code, verifies the
// ID token (signature, issuer, audience = clientID, expiry, nonce) and signs a Moor session (issuer
// "argocd", the session lifetime, 24h by default) for the token's `sub` with its `groups` claim (a list or
// one string) as RBAC groups: `g, <group>, role:admin` in argocd-rbac-cm then applies. The session goes into
// the cookie argocd.token (HttpOnly, SameSite=Lax, Secure unless the server runs --insecure) and the
// browser returns to return_url: a path, or a URL of the server's own origin; anything else returns to /.
//
// A CLI logs in through the same flow with cli_callback=<loopback URL>, cli_state and cli_challenge (S256 of
// a verifier only the CLI holds): after the callback the browser is sent to cli_callback with a one-minute
// code and cli_state, no cookie is set, and the CLI redeems the code with its verifier at POST /auth/token.
// The session itself never appears in a URL; cli_callback must be http on 127.0.0.1, ::1 or localhost.
//
// oidc.config (YAML) reads name, issuer, clientID, clientSecret, requestedScopes (default openid, profile,
// email, groups), requestedIDTokenClaims and enablePKCEAuthentication; other keys of Argo CD's are ignored.
// clientID and clientSecret may be `$<key>`, a key of argocd-secret. The callback URL is argocd-cm `url` +
// /auth/callback, or, without `url`, the scheme and Host of the login request; register it with the
// provider. The provider's discovery document is fetched on first use and again whenever oidc.config
// changes; while it cannot be fetched, /auth/login answers 503.
//
// Known limits: the subject is always `sub` (no `userIdentityClaim`), groups come from the ID token only
// (no userinfo lookup), `$<secret>:<key>` references to other Secrets and rootCA are not supported. A logout
// ends an SSO session like any other (Session.Delete); a subject equal to a local account name is refused. A session larger than a cookie (thousands of groups)
// is refused with 400.
package sso
