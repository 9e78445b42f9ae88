import Foundation
import OutpostCore
import Testing
import TestSupport
@testable import Cluster

/// The client against the in-repo simulator (a real HTTPS API server that kubectl also talks to): the
/// simulator's own kubeconfig, a pod-style service account directory, and the failures a user meets.
@Suite(.serialized) struct KubernetesClientTests {
    static let namespaces = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: quiet, labels: {zarf.dev/agent: skip, team: a}}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: loud, labels: {team: b}}
        """

    @Test func readsNamespacesObjectsAndListsWithTheSimulatorsKubeconfig() async throws {
        try await withSimulator { sim in
            try sim.apply(Self.namespaces)
            let config = try Kubeconfig.load(path: sim.kubeconfig)
            #expect(config.server == sim.apiURL)
            let client = try KubernetesClient(configuration: config)

            let quiet = try await client.namespace("quiet")
            #expect(quiet.name == "quiet")
            #expect(quiet.labels["zarf.dev/agent"] == "skip" && quiet.labels["team"] == "a")
            #expect(try await client.namespace("loud").labels["zarf.dev/agent"] == nil)

            // the same answer kubectl gets
            let viaKubectl = try sim.kubectl(["get", "namespace", "quiet", "-o", "jsonpath={.metadata.labels.team}"], check: true).out
            #expect(viaKubectl == "a")

            let service = try await client.get("/api/v1/namespaces/default/services/kubernetes")
            #expect(service["spec"]?["clusterIP"] == "10.96.0.1")
            let all = try await client.list("/api/v1/namespaces").compactMap { $0["metadata"]?["name"]?.stringValue }
            #expect(Set(["default", "kube-system", "quiet", "loud"]).isSubset(of: Set(all)), "\(all)")
            let teamA = try await client.list("/api/v1/namespaces", labelSelector: "team=a").compactMap { $0["metadata"]?["name"]?.stringValue }
            #expect(teamA == ["quiet"])
            let notSkipped = try await client.list("/api/v1/namespaces", labelSelector: "team,zarf.dev/agent!=skip")
                .compactMap { $0["metadata"]?["name"]?.stringValue }
            #expect(notSkipped == ["loud"])

            // a missing object, a list path that is an object, a wrong token
            await #expect(throws: ClusterError.self) { _ = try await client.namespace("absent") }
            do { _ = try await client.namespace("absent"); Issue.record("found a namespace that does not exist") }
            catch let ClusterError.notFound(path, _) {
                #expect(path == "/api/v1/namespaces/absent")
            }
            do { _ = try await client.list("/api/v1/namespaces/quiet"); Issue.record("an object read as a list") }
            catch let ClusterError.invalidResponse(path, reason) {
                #expect(path == "/api/v1/namespaces/quiet" && reason.contains("no items"))
            }
            var wrong = config
            wrong.credentials = .bearerToken("not-the-token")
            do { _ = try await KubernetesClient(configuration: wrong).namespace("quiet"); Issue.record("accepted a wrong token") }
            catch let ClusterError.unauthorized(_, code, _) { #expect(code == 401) }
        }
    }

    @Test func inClusterServiceAccountAgainstTheSimulator() async throws {
        try await withSimulator { sim in
            try sim.apply(Self.namespaces)
            try await withTemporaryDirectory("sa-root") { root in
                let dir = root + "/" + ClusterConfiguration.serviceAccountDirectory
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try (sim.token + "\n").write(toFile: dir + "/token", atomically: true, encoding: .utf8)
                try FileManager.default.copyItem(atPath: sim.caCertificate, toPath: dir + "/ca.crt")
                let port = try #require(URL(string: sim.apiURL)?.port)
                let config = try ClusterConfiguration.inCluster(
                    environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(port)], root: root)
                let labels = try await KubernetesClient(configuration: config).namespace("quiet").labels
                #expect(labels["zarf.dev/agent"] == "skip")
            }
        }
    }

    @Test func unreachableAndUntrustedServersAreReportedAsSuch() async throws {
        try await withTemporaryDirectory("cluster-down") { dir in
            // nothing listens on this port
            let port = try freeLoopbackPort()
            let down = try KubernetesClient(configuration: ClusterConfiguration(server: "https://127.0.0.1:\(port)", credentials: .bearerToken("t")),
                                            timeout: .seconds(3))
            do { _ = try await down.namespace("default"); Issue.record("a closed port answered") }
            catch let ClusterError.unreachable(url, reason) {
                #expect(url == "https://127.0.0.1:\(port)")
                #expect(!reason.isEmpty)
            }

            // a server whose certificate is not signed by the CA we were given
            let otherCA = try Self.makeOtherCA(in: dir)
            try await withSimulator { sim in
                var config = try Kubeconfig.load(path: sim.kubeconfig)
                config.certificateAuthorityPEM = Array(otherCA.utf8)
                do { _ = try await KubernetesClient(configuration: config).namespace("default"); Issue.record("trusted a foreign CA") }
                catch let ClusterError.unreachable(_, reason) { #expect(reason.contains("TLS failure"), "\(reason)") }
                config.insecureSkipTLSVerify = true
                #expect(try await KubernetesClient(configuration: config).namespace("default").name == "default")
            }
            #expect(throws: ClusterError.self) {
                try KubernetesClient(configuration: ClusterConfiguration(server: "https://h:1", certificateAuthorityPEM: Array("junk".utf8)))
            }
        }
    }

    /// A self-signed CA (PEM) that signed nothing the simulator serves.
    static func makeOtherCA(in dir: String) throws -> String {
        try ProcessRunner.run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                          "-keyout", dir + "/other-ca.key", "-out", dir + "/other-ca.crt", "-days", "1",
                                          "-subj", "/CN=other-ca"], check: true)
        return try String(contentsOfFile: dir + "/other-ca.crt", encoding: .utf8)
    }
}
