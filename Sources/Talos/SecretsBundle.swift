import Foundation
import OutpostCore
import Yams

/// Every secret a Talos cluster is made from, in the same items and YAML layout as `talosctl gen secrets`,
/// so a bundle made here works with talosctl and the reverse.
///
/// Keys and certificates are held as PEM text; the YAML holds each PEM base64-encoded, as Talos does.
public struct SecretsBundle: Sendable, Hashable {
    /// Cluster identity (URL-safe base64 of 32 random bytes, as Talos up to v1.13) and shared secret.
    public var clusterID: String
    public var clusterSecret: String
    /// Kubernetes bootstrap token `[0-9a-z]{6}.[0-9a-z]{16}`.
    public var bootstrapToken: String
    /// 32-byte key (base64) for secretbox encryption of Kubernetes Secrets at rest.
    public var secretboxEncryptionSecret: String
    /// trustd token: how nodes join (`machine.token`).
    public var trustdToken: String
    /// ECDSA P-256 CAs: etcd (O=etcd), Kubernetes (O=kubernetes), aggregator (empty subject).
    public var etcd: PEMPair
    public var k8s: PEMPair
    public var k8sAggregator: PEMPair
    /// RSA-4096 service-account signing key, PKCS#1 PEM.
    public var k8sServiceAccountKey: String
    /// Ed25519 Talos OS CA (O=talos): signs node and talosctl client certificates.
    public var os: PEMPair

    public init(clusterID: String, clusterSecret: String, bootstrapToken: String, secretboxEncryptionSecret: String,
                trustdToken: String, etcd: PEMPair, k8s: PEMPair, k8sAggregator: PEMPair,
                k8sServiceAccountKey: String, os: PEMPair) {
        self.clusterID = clusterID; self.clusterSecret = clusterSecret; self.bootstrapToken = bootstrapToken
        self.secretboxEncryptionSecret = secretboxEncryptionSecret; self.trustdToken = trustdToken
        self.etcd = etcd; self.k8s = k8s; self.k8sAggregator = k8sAggregator
        self.k8sServiceAccountKey = k8sServiceAccountKey; self.os = os
    }

    /// Makes a fresh bundle: new random identifiers, tokens and keys, CAs valid from `now` for 10 years.
    public static func generate(now: Date = Date()) throws -> SecretsBundle {
        SecretsBundle(
            clusterID: randomBytes(32).base64URLEncoded(),
            clusterSecret: randomBytes(32).base64EncodedString(),
            bootstrapToken: token(),
            secretboxEncryptionSecret: randomBytes(32).base64EncodedString(),
            trustdToken: token(),
            etcd: try PKI.certificateAuthority(organization: "etcd", keyType: .p256, now: now),
            k8s: try PKI.certificateAuthority(organization: "kubernetes", keyType: .p256, now: now),
            k8sAggregator: try PKI.certificateAuthority(organization: nil, keyType: .p256, now: now),
            k8sServiceAccountKey: try PKI.rsaServiceAccountKey(),
            os: try PKI.certificateAuthority(organization: "talos", keyType: .ed25519, now: now))
    }

    /// A token `[0-9a-z]{6}.[0-9a-z]{16}` from the system's secure random source.
    public static func token() -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var rng = SystemRandomNumberGenerator()
        func part(_ n: Int) -> String { String((0..<n).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] }) }
        return part(6) + "." + part(16)
    }

    static func randomBytes(_ n: Int) -> Data {
        var rng = SystemRandomNumberGenerator()
        return Data((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    static func b64(_ pem: String) -> String { Data(pem.utf8).base64EncodedString() }

    /// The bundle as YAML in talosctl's layout (cluster, secrets, trustdinfo, certs; 4-space indentation).
    public func yaml() throws -> String {
        func map(_ pairs: [(String, Node)]) -> Node { .mapping(.init(pairs.map { (Node($0.0), $0.1) })) }
        func str(_ s: String) -> Node { Node(s, Tag(.str)) }
        func pair(_ p: PEMPair) -> Node { map([("crt", str(Self.b64(p.certificate))), ("key", str(Self.b64(p.key)))]) }
        let root = map([
            ("cluster", map([("id", str(clusterID)), ("secret", str(clusterSecret))])),
            ("secrets", map([("bootstraptoken", str(bootstrapToken)),
                             ("secretboxencryptionsecret", str(secretboxEncryptionSecret))])),
            ("trustdinfo", map([("token", str(trustdToken))])),
            ("certs", map([
                ("etcd", pair(etcd)), ("k8s", pair(k8s)), ("k8saggregator", pair(k8sAggregator)),
                ("k8sserviceaccount", map([("key", str(Self.b64(k8sServiceAccountKey)))])),
                ("os", pair(os)),
            ])),
        ])
        return try Yams.serialize(node: root, indent: 4, width: -1)
    }

    /// Reads a bundle written by `yaml()` or by `talosctl gen secrets`, checking every item is present and
    /// well-formed (tokens, key lengths, PEM labels). `file` names the bundle in errors.
    public init(yaml text: String, file: String) throws {
        let docs = try YAMLDocuments.parse(text, file: file)
        guard docs.count == 1, let root = docs.first, root.objectValue != nil else {
            throw TalosError.secrets(file: file, key: "(document)", reason: "expected one YAML mapping")
        }
        func get(_ path: String) throws -> String {
            var cur: JSONValue? = root
            for part in path.split(separator: ".") { cur = cur?[String(part)] }
            guard let s = cur?.stringValue, !s.isEmpty else {
                throw TalosError.secrets(file: file, key: path, reason: "is missing")
            }
            return s
        }
        func token(_ path: String) throws -> String {
            let t = try get(path)
            guard Self.isToken(t) else {
                throw TalosError.secrets(file: file, key: path, reason: "is not a token of the form [0-9a-z]{6}.[0-9a-z]{16}")
            }
            return t
        }
        func bytes32(_ path: String, urlSafe: Bool = false) throws -> String {
            let s = try get(path)
            let d = urlSafe ? Data(base64URLEncoded: s) : Data(base64Encoded: s)
            guard let d, d.count == 32 else {
                throw TalosError.secrets(file: file, key: path, reason: "is not the base64 of 32 bytes")
            }
            return s
        }
        func pem(_ path: String, labels: [String]) throws -> String {
            guard let data = Data(base64Encoded: try get(path)), let text = String(data: data, encoding: .utf8),
                  let label = PKI.label(of: text) else {
                throw TalosError.secrets(file: file, key: path, reason: "is not a base64-encoded PEM block")
            }
            guard labels.contains(label) else {
                throw TalosError.secrets(file: file, key: path, reason: "holds PEM \"\(label)\", expected \(labels.joined(separator: " or "))")
            }
            return text
        }
        func ca(_ name: String, key: String) throws -> PEMPair {
            PEMPair(certificate: try pem("certs.\(name).crt", labels: ["CERTIFICATE"]),
                    key: try pem("certs.\(name).key", labels: [key]))
        }
        self.init(
            clusterID: try bytes32("cluster.id", urlSafe: true),
            clusterSecret: try bytes32("cluster.secret"),
            bootstrapToken: try token("secrets.bootstraptoken"),
            secretboxEncryptionSecret: try bytes32("secrets.secretboxencryptionsecret"),
            trustdToken: try token("trustdinfo.token"),
            etcd: try ca("etcd", key: PKI.ecPEMLabel),
            k8s: try ca("k8s", key: PKI.ecPEMLabel),
            k8sAggregator: try ca("k8saggregator", key: PKI.ecPEMLabel),
            k8sServiceAccountKey: try pem("certs.k8sserviceaccount.key", labels: [PKI.rsaPEMLabel]),
            os: try ca("os", key: PKI.ed25519PEMLabel))
    }

    static func isToken(_ t: String) -> Bool {
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        let ok: (Substring) -> Bool = { $0.allSatisfy { ($0.isASCII && $0.isLowercase) || ("0"..."9").contains($0) } }
        return parts.count == 2 && parts[0].count == 6 && parts[1].count == 16 && ok(parts[0]) && ok(parts[1])
    }
}

extension Data {
    /// Go's `base64.URLEncoding` (URL alphabet, with padding).
    func base64URLEncoded() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    init?(base64URLEncoded s: String) {
        self.init(base64Encoded: s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/"))
    }
}
