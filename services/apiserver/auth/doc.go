// Package auth authenticates every gRPC call of the api-server, REST calls included (the gateway calls the
// gRPC server in-process, so the same interceptors run).
//
// A token comes from the metadata `authorization: Bearer <jwt>` or from the cookie argocd.token (the REST
// gateway forwards the Cookie header as `grpcgateway-cookie`). A valid token puts an Identity in the
// context. Public methods (session login, version, public settings, health, reflection) run without a
// token and, when one is sent but invalid, as anonymous. Every other method needs a valid token, unless
// anonymous access is enabled (argocd-cm `users.anonymous.enabled: "true"`), in which case a caller without
// a token is anonymous and holds only policy.default. Errors never quote a token.
package auth
