local util = import 'lib/util.libsonnet';
local parts = import 'parts.libsonnet';

function(replicas=1, tier='web') [
  util.configMap('settings', { env: std.extVar('env'), debug: std.toString(std.extVar('debug')) }),
  [parts.deployment(tier, replicas)],
]
