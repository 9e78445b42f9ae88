import Foundation
import Testing
import TestSupport
@testable import Cluster

/// Kubeconfig and service account parsing: every field the client uses, and errors that name the file,
/// line and field.
@Suite struct KubeconfigTests {
    static let caPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    static var caData: String { Data(caPEM.utf8).base64EncodedString() }

    static func config(user: String, cluster: String? = nil, current: String = "ctx") -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: c1
          cluster:
        \(cluster ?? "    server: https://10.0.0.1:6443/\n    certificate-authority-data: \(caData)")
        users:
        - name: u1
          user:
        \(user)
        contexts:
        - name: ctx
          context: {cluster: c1, user: u1, namespace: apps}
        - name: other
          context: {cluster: c1}
        current-context: \(current)
        """
    }

    @Test func tokenUserAndCurrentContext() throws {
        let c = try Kubeconfig.parse(Self.config(user: "    token: abc123"), path: "/k/config")
        #expect(c.server == "https://10.0.0.1:6443")
        #expect(c.certificateAuthorityPEM == Array(Self.caPEM.utf8))
        #expect(c.namespace == "apps")
        #expect(c.source == "kubeconfig /k/config (context ctx)")
        guard case .bearerToken("abc123") = c.credentials else { Issue.record("credentials \(c.credentials)"); return }
        // a context without a user has no credentials
        let other = try Kubeconfig.parse(Self.config(user: "    token: abc123"), path: "/k/config", context: "other")
        guard case .none = other.credentials else { Issue.record("credentials \(other.credentials)"); return }
    }

    @Test func clientCertificateDataAndFilesRelativeToTheKubeconfig() async throws {
        try await withTemporaryDirectory("kubeconfig") { dir in
            try "CERT".write(toFile: dir + "/client.crt", atomically: true, encoding: .utf8)
            try "KEY".write(toFile: dir + "/client.key", atomically: true, encoding: .utf8)
            try Self.caPEM.write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
            let text = Self.config(user: "    client-certificate: client.crt\n    client-key: \(dir)/client.key",
                                   cluster: "    server: https://h:1\n    certificate-authority: ca.crt")
            try text.write(toFile: dir + "/config", atomically: true, encoding: .utf8)
            let c = try Kubeconfig.load(path: dir + "/config")
            #expect(c.certificateAuthorityPEM == Array(Self.caPEM.utf8))
            guard case .clientCertificate(let cert, let key) = c.credentials else { Issue.record("\(c.credentials)"); return }
            #expect(cert == Array("CERT".utf8) && key == Array("KEY".utf8))

            let data = Self.config(user: "    client-certificate-data: \(Data("C".utf8).base64EncodedString())\n    client-key-data: \(Data("K".utf8).base64EncodedString())")
            guard case .clientCertificate(let c2, let k2) = try Kubeconfig.parse(data, path: "x").credentials else { Issue.record(); return }
            #expect(c2 == [UInt8]("C".utf8) && k2 == [UInt8]("K".utf8))

            try "tok-from-file\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
            guard case .tokenFile(let p) = try Kubeconfig.parse(Self.config(user: "    tokenFile: token"), path: dir + "/config").credentials else {
                Issue.record(); return
            }
            #expect(p.replacingOccurrences(of: "//", with: "/") == (dir + "/token").replacingOccurrences(of: "//", with: "/"))
            #expect(try TokenFile(path: p).token() == "tok-from-file")
        }
    }

    @Test func errorsNameFileLineAndField() throws {
        func error(_ text: String, context: String? = nil) -> ClusterError? {
            do { _ = try Kubeconfig.parse(text, path: "/k/config", context: context); return nil } catch let e as ClusterError { return e } catch {
                Issue.record("unexpected \(error)"); return nil
            }
        }
        #expect(error(Self.config(user: "    token: t"), context: "nope")
                == .invalidKubeconfig(location: "/k/config:13", field: "contexts", reason: "no entry named \"nope\" (have: ctx, other)"))
        let badB64 = error(Self.config(user: "    token: t", cluster: "    server: https://h:1\n    certificate-authority-data: '%%%'"))
        #expect(badB64 == .invalidKubeconfig(location: "/k/config:7", field: "clusters[c1].cluster.certificate-authority-data", reason: "not valid base64"))
        let noServer = error(Self.config(user: "    token: t", cluster: "    insecure-skip-tls-verify: true"))
        #expect(noServer?.description.contains("clusters[c1].cluster.server: missing or empty") == true)
        let exec = error(Self.config(user: "    exec: {command: aws}"))
        #expect(exec?.description.contains("users[u1].user.exec: credential plugins are not supported") == true, "\(String(describing: exec))")
        let certWithoutKey = error(Self.config(user: "    client-certificate-data: Q0VSVA=="))
        #expect(certWithoutKey?.description.contains("needs client-key") == true)
        #expect(error("- just\n- a list\n") == .invalidKubeconfig(location: "/k/config:1", field: "(document)", reason: "the document is not a mapping"))
        #expect(error(Self.config(user: "    token: t", current: "''"))?.description.contains("no current-context") == true)
        #expect(error("") == .invalidKubeconfig(location: "/k/config", field: "(document)", reason: "the file is empty"))
        #expect(throws: ClusterError.self) { try Kubeconfig.load(path: "/nonexistent/kubeconfig") }
    }

    @Test func inClusterServiceAccount() async throws {
        try await withTemporaryDirectory("sa-root") { root in
            let dir = root + "/" + ClusterConfiguration.serviceAccountDirectory
            let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
            #expect(ClusterConfiguration.inClusterAvailable(environment: env))
            #expect(!ClusterConfiguration.inClusterAvailable(environment: [:]))
            // nothing mounted yet: the error names the token file
            do {
                _ = try ClusterConfiguration.inCluster(environment: env, root: root)
                Issue.record("no error without a token file")
            } catch let ClusterError.unreadableFile(path, _) {
                #expect(path == dir + "/token")
            }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try "sa-token\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
            try Self.caPEM.write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
            try "zarf".write(toFile: dir + "/namespace", atomically: true, encoding: .utf8)
            let c = try ClusterConfiguration.inCluster(environment: env, root: root)
            #expect(c.server == "https://10.96.0.1:443")
            #expect(c.namespace == "zarf")
            #expect(c.certificateAuthorityPEM == Array(Self.caPEM.utf8))
            guard case .tokenFile(let p) = c.credentials else { Issue.record(); return }
            #expect(p == dir + "/token")
            let v6 = try ClusterConfiguration.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"], root: root)
            #expect(v6.server == "https://[fd00::1]:443")
            #expect(throws: ClusterError.self) {
                try ClusterConfiguration.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "http"], root: root)
            }
            #expect(throws: ClusterError.self) { try ClusterConfiguration.inCluster(environment: [:], root: root) }
        }
    }

    @Test func namesThatCannotBePathsAreRejected() {
        for bad in ["", "a/b", "../x", "UPPER", "-x", "x?y=1", String(repeating: "a", count: 254)] {
            #expect(throws: ClusterError.invalidName(bad)) { try KubernetesClient.checkName(bad) }
        }
        for good in ["default", "kube-system", "a.b-c", "x1"] { #expect(throws: Never.self) { try KubernetesClient.checkName(good) } }
    }
}
