import Testing
@testable import Cluster
// Tests of the Kubernetes API client against the in-repo simulator live here (issue 4).
