// Module Cluster: a small Kubernetes API client (in-cluster service account or kubeconfig) for the parts of
// Outpost that read or write cluster objects: the webhook's namespace lookups (issue 4), later the agent.
