import Foundation
import Yams

/// Reads a kubeconfig file (the format kubectl uses) into a `ClusterConfiguration` for one context.
///
/// Supported: `clusters[].cluster.{server, certificate-authority, certificate-authority-data,
/// insecure-skip-tls-verify}`, `users[].user.{token, tokenFile, client-certificate(-data),
/// client-key(-data), username/password}`, `contexts[].context.{cluster, user, namespace}` and
/// `current-context`. Relative file paths are relative to the kubeconfig's directory, as in kubectl.
/// `exec` and `auth-provider` plugins are not run: they are reported as unsupported.
public enum Kubeconfig {
    public static func load(path: String, context: String? = nil) throws -> ClusterConfiguration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ClusterError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        return try parse(text, path: path, context: context)
    }

    /// Parses kubeconfig `text`; `path` names the file in errors and anchors relative paths.
    public static func parse(_ text: String, path: String, context: String? = nil) throws -> ClusterConfiguration {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ClusterError.invalidKubeconfig(location: path, field: "(document)", reason: "the file is empty")
            }
            root = node
        } catch let e as ClusterError { throw e } catch {
            throw ClusterError.invalidKubeconfig(location: path, field: "(document)", reason: "not YAML: \(error)")
        }
        let file = Reader(path: path)
        guard root.mapping != nil else { throw file.error(root, "(document)", "the document is not a mapping") }

        let contextName: String
        if let context { contextName = context } else {
            guard let current = root["current-context"]?.string, !current.isEmpty else {
                throw file.error(root, "current-context", "no current-context is set; pass a context name")
            }
            contextName = current
        }
        let ctx = try file.named(root, "contexts", contextName, body: "context")
        let clusterName = try file.string(ctx, "cluster", in: "contexts[\(contextName)].context")
        let cluster = try file.named(root, "clusters", clusterName, body: "cluster")
        let userName = ctx["user"]?.string ?? ""
        let namespace = ctx["namespace"]?.string

        let clusterField = "clusters[\(clusterName)].cluster"
        let server = try file.string(cluster, "server", in: clusterField)
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw file.error(cluster["server"] ?? cluster, "\(clusterField).server", "\"\(server)\" is not an http(s) URL")
        }
        let ca = try file.bytes(cluster, data: "certificate-authority-data", file: "certificate-authority", in: clusterField)
        let insecure = cluster["insecure-skip-tls-verify"]?.bool ?? false

        var credentials = ClusterConfiguration.Credentials.none
        if !userName.isEmpty {
            let user = try file.named(root, "users", userName, body: "user")
            let userField = "users[\(userName)].user"
            for plugin in ["exec", "auth-provider"] where user[plugin] != nil {
                throw file.error(user[plugin]!, "\(userField).\(plugin)", "credential plugins are not supported; use a token or a client certificate")
            }
            if let token = user["token"]?.string, !token.isEmpty {
                credentials = .bearerToken(token)
            } else if let tokenFile = user["tokenFile"]?.string, !tokenFile.isEmpty {
                let p = file.resolve(tokenFile)
                _ = try TokenFile.read(p)
                credentials = .tokenFile(p)
            } else if let cert = try file.bytes(user, data: "client-certificate-data", file: "client-certificate", in: userField) {
                guard let key = try file.bytes(user, data: "client-key-data", file: "client-key", in: userField) else {
                    throw file.error(user, "\(userField).client-key-data", "a client certificate needs client-key or client-key-data")
                }
                credentials = .clientCertificate(certificatePEM: cert, keyPEM: key)
            } else if let username = user["username"]?.string, !username.isEmpty {
                credentials = .basic(username: username, password: user["password"]?.string ?? "")
            }
        }
        return ClusterConfiguration(server: server, certificateAuthorityPEM: ca, insecureSkipTLSVerify: insecure,
                                    credentials: credentials, namespace: namespace,
                                    source: "kubeconfig \(path) (context \(contextName))")
    }

    /// Field access that turns every problem into an error naming `file:line` and the field.
    struct Reader {
        let path: String
        var directory: String { (path as NSString).deletingLastPathComponent }

        func error(_ node: Node, _ field: String, _ reason: String) -> ClusterError {
            let location = node.mark.map { "\(path):\($0.line)" } ?? path
            return .invalidKubeconfig(location: location, field: field, reason: reason)
        }

        func resolve(_ p: String) -> String {
            if p.hasPrefix("/") || directory.isEmpty { return p }
            return directory + "/" + p
        }

        /// The `body` mapping of the entry of list `list` whose `name` is `name`.
        func named(_ root: Node, _ list: String, _ name: String, body: String) throws -> Node {
            guard let entries = root[list]?.sequence else { throw error(root, list, "missing (no \(list) list)") }
            guard let entry = entries.first(where: { $0["name"]?.string == name }) else {
                let known = entries.compactMap { $0["name"]?.string }.joined(separator: ", ")
                throw error(root[list] ?? root, list, "no entry named \"\(name)\" (have: \(known.isEmpty ? "none" : known))")
            }
            guard let b = entry[body], b.mapping != nil else { throw error(entry, "\(list)[\(name)].\(body)", "missing or not a mapping") }
            return b
        }

        func string(_ node: Node, _ key: String, in parent: String) throws -> String {
            guard let s = node[key]?.string, !s.isEmpty else { throw error(node, "\(parent).\(key)", "missing or empty") }
            return s
        }

        /// PEM bytes from a base64 `data` field or a `file` field; nil when neither is set.
        func bytes(_ node: Node, data: String, file: String, in parent: String) throws -> [UInt8]? {
            if let b64 = node[data]?.string, !b64.isEmpty {
                guard let d = Data(base64Encoded: b64.filter { !$0.isWhitespace }) else {
                    throw error(node[data] ?? node, "\(parent).\(data)", "not valid base64")
                }
                return [UInt8](d)
            }
            if let p = node[file]?.string, !p.isEmpty { return try ClusterConfiguration.readFile(resolve(p)) }
            return nil
        }
    }
}
