// Parameters of the Jsonnet guestbook. An Application can override them with
// spec.source.directory.jsonnet.tlas or extVars once the template reads them.
{
  name: 'jsonnet-guestbook',
  image: 'docker.io/library/nginx:1.27-alpine',
  replicas: 1,
  port: 80,
  greeting: 'Hello from Jsonnet',
}
