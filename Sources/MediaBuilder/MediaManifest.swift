import Crypto
import Foundation
import Packaging

/// The signed record of a medium: which site and node it was built for, the kernel arguments, the images
/// and packages it carries, and the size and SHA-256 of every file on every volume (and of the whole EFI
/// System Partition). It lives at `outpost/media-manifest.json` on the data volume; the signature beside
/// it (`.sig`) is in the package signing form (base64 DER ECDSA P-256 over the manifest bytes, as
/// `cosign sign-blob` writes), so the same key pair signs packages and media.
///
/// The bytes are canonical (sorted keys, no timestamps) so the same inputs give the same manifest.
public struct MediaManifest: Codable, Sendable, Equatable {
    public static let path = "outpost/media-manifest.json"
    public static let signaturePath = "outpost/media-manifest.json.sig"
    /// The signature file is padded with newlines to this size, so a medium's layout does not depend on
    /// the length of the (randomised) ECDSA signature.
    static let signatureFileSize = 100

    /// One file: the volume it is on (`esp` or `data`), its path there, size and SHA-256.
    public struct File: Codable, Sendable, Equatable {
        public var volume: String
        public var path: String
        public var size: UInt64
        public var sha256: String
        public init(volume: String, path: String, size: UInt64, sha256: String) {
            self.volume = volume; self.path = path; self.size = size; self.sha256 = sha256
        }
    }

    /// One package: its name and version from zarf.yaml, and its file(s) under `outpost/packages/`
    /// (several when split to fit FAT32: `.part000` record first).
    public struct Package: Codable, Sendable, Equatable {
        public var name: String
        public var version: String?
        public var files: [String]
        public var sha256: String
        public var size: UInt64
    }

    public var apiVersion = "outpost.dev/v1alpha1"
    public var kind = "MediaManifest"
    public var site: String
    public var node: String
    /// `usb` or `iso`.
    public var format: String
    public var talosVersion: String
    public var kernelArguments: [String]
    /// Normalised image reference → manifest digest, for every image in `imagecache/`.
    public var images: [String: String]
    public var packages: [Package]
    /// SHA-256 of the whole EFI System Partition (USB) or El Torito EFI image (ISO).
    public var espSHA256: String
    public var espSize: UInt64
    public var files: [File]

    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var d = try e.encode(self)
        d.append(0x0A)
        return d
    }

    public static func decode(_ data: Data, context: String) throws -> MediaManifest {
        do { return try JSONDecoder().decode(MediaManifest.self, from: data) } catch {
            throw MediaBuilderError.verification(image: context, problems: ["\(path): not a media manifest: \(error)"])
        }
    }

    /// The signature file for `manifest` bytes (base64 DER, padded with newlines).
    static func signature(for manifest: Data, keyPath: String) throws -> Data {
        let key: P256.Signing.PrivateKey
        do { key = try PackageSigning.loadPrivateKey(path: keyPath) } catch {
            throw MediaBuilderError.key(path: keyPath, reason: "\(error)")
        }
        var sig = try PackageSigning.sign(manifest, with: key)
        while sig.count < signatureFileSize { sig.append(0x0A) }
        return sig
    }

    /// Checks a signature file against manifest bytes with the public key at `keyPath`.
    static func verifySignature(_ signature: Data, manifest: Data, keyPath: String) throws {
        let key: P256.Signing.PublicKey
        do { key = try PackageSigning.loadPublicKey(path: keyPath) } catch {
            throw MediaBuilderError.key(path: keyPath, reason: "\(error)")
        }
        try PackageSigning.verify(signatureFile: signature, for: manifest, with: key, keyPath: keyPath)
    }
}
