// Package session owns the api-server's local accounts, their passwords and API tokens, and the JWT sessions
// signed for them, in Argo CD's format so an existing install's users, passwords and tokens keep working.
//
// Store reads accounts from the settings ConfigMap argocd-cm (accounts.<name>: "apiKey, login",
// accounts.<name>.enabled, admin.enabled) and the Secret argocd-secret (bcrypt password hashes, password
// change times, API token lists and the signing key server.secretkey). Reads are cached for about a second,
// so verifying a token on every request does not reach the Kubernetes API each time; writes made through a
// Store are visible to it at once and to other replicas within that second. Store.Bootstrap creates the
// signing key and the initial admin password (plain text in argocd-initial-admin-secret), safely when
// replicas race.
//
// Manager signs and verifies HS256 JWTs with issuer "argocd" and logs users in. Login compares passwords in
// constant time, answers an unknown user and a wrong password with the same error after the same bcrypt
// work, and refuses a user's attempts once Options.MaxFailures failures fell within Options.FailureWindow,
// until the oldest of them leaves the window.
//
// Verify accepts a token only when it is HS256, signed with server.secretkey, issued by "argocd", not
// expired and not before its nbf. For a local account it also requires that the account exists and is
// enabled, that it has the login capability (session, no jti) or the apiKey capability and still lists the
// token id (API token, jti set), and that the token was issued no earlier than the account's last password
// change, which so logs out every session and API token of the account.
//
// Known limits: login failures are counted per api-server replica (in memory), so N replicas allow N times
// the attempts. Project role tokens (subject proj:<project>:<role>) are checked for signature, issuer and
// expiry only; their revocation lives in the AppProject and is the caller's check. Times have the JWT's
// one-second precision: a session issued in the same second as a password change survives it.
package session
