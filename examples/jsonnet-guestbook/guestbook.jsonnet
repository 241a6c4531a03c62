// The guestbook in Jsonnet: a ConfigMap, a Deployment and a Service built from params.libsonnet. The
// repo-server evaluates *.jsonnet files of a directory app in-process; an array yields several objects.
local params = import 'params.libsonnet';

local labels = { 'app.kubernetes.io/name': params.name };

[
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: params.name, labels: labels },
    data: { GREETING: params.greeting },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: params.name, labels: labels },
    spec: {
      replicas: params.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: labels },
        spec: {
          containers: [{
            name: 'web',
            image: params.image,
            ports: [{ name: 'http', containerPort: params.port }],
            envFrom: [{ configMapRef: { name: params.name } }],
            resources: { requests: { cpu: '50m', memory: '32Mi' } },
          }],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: params.name, labels: labels },
    spec: {
      selector: labels,
      ports: [{ name: 'http', port: params.port, targetPort: 'http' }],
    },
  },
]
