// Package project enforces an AppProject's limits: which source repositories, destinations and resource
// kinds an Application of the project may use. The controller checks them during compare and sync; the
// api-server checks them when an Application is created or changed.
//
// Semantics follow Argo CD's documentation: patterns are globs ("*" any run of characters, including "/");
// a pattern starting with "!" denies what it matches and wins over any allow; cluster-scoped kinds are
// allowed only when clusterResourceWhitelist names them; namespaced kinds are allowed unless
// namespaceResourceBlacklist names them or a non-empty namespaceResourceWhitelist does not.
package project
