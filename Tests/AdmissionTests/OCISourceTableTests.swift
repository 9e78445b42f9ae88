import Admission
import Foundation
import OCI
import OutpostCore
import Testing
import TestSupport

/// zarf-compat.md's Flux rule, "OCIRepository and HelmRepository (type oci) `spec.url` →
/// `oci://<registry>/<path>` + `secretRef private-registry`", over a table of URL forms; each patch applied
/// by Python's jsonpatch and the whole object compared.
@Suite struct OCISourceTableTests {
    static let config = AgentConfig(registryPullUsername: "zarf-pull", registryPullPassword: "pw")

    struct Row: Sendable, CustomTestStringConvertible {
        let url: String
        let expected: String
        var testDescription: String { url }
    }

    static let rows: [Row] = [
        Row(url: "oci://ghcr.io/stefanprodan/charts", expected: "oci://127.0.0.1:31999/stefanprodan/charts"),
        Row(url: "oci://registry.example.com:5000/team/charts/sub", expected: "oci://127.0.0.1:31999/team/charts/sub"),
        // Docker reference normalisation: a one-part path on Docker Hub gains library/
        Row(url: "oci://docker.io/bitnamicharts", expected: "oci://127.0.0.1:31999/library/bitnamicharts"),
        Row(url: "oci://registry-1.docker.io/bitnamicharts/redis", expected: "oci://127.0.0.1:31999/bitnamicharts/redis"),
        // already on the internal registry: unchanged
        Row(url: "oci://127.0.0.1:31999/stefanprodan/charts", expected: "oci://127.0.0.1:31999/stefanprodan/charts"),
    ]

    @Test(arguments: rows) func helmRepositoryOfTypeOCI(_ row: Row) throws {
        let repo: JSONValue = ["apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                               "metadata": ["name": "charts", "namespace": "flux-system"],
                               "spec": ["type": "oci", "interval": "5m", "url": .string(row.url)]]
        let out = try PatchHarness.run(.fluxHelmRepository, repo, config: Self.config, kind: "HelmRepository")
        var expected = repo
        expected["metadata"]?["labels"] = ["zarf-agent": "patched"]
        expected["spec"]?["url"] = .string(row.expected)
        expected["spec"]?["secretRef"] = ["name": "private-registry"]
        expected["spec"]?["insecure"] = true   // the registry is in the cluster (NodePort, plain HTTP)
        #expect(out.patched == expected)
    }

    @Test(arguments: rows) func ociRepositoryURLAndSecret(_ row: Row) throws {
        let repo: JSONValue = ["apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "OCIRepository",
                               "metadata": ["name": "manifests"],
                               "spec": ["url": .string(row.url), "ref": ["semver": "6.x"], "interval": "10m"]]
        let out = try PatchHarness.run(.fluxOCIRepository, repo, config: Self.config, kind: "OCIRepository")
        var expected = repo
        expected["metadata"]?["labels"] = ["zarf-agent": "patched"]
        expected["spec"]?["url"] = .string(row.expected)
        expected["spec"]?["secretRef"] = ["name": "private-registry"]
        expected["spec"]?["insecure"] = true
        #expect(out.patched == expected)   // a semver ref stays as it is
    }
}
