import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import OCI
import OutpostCore

/// Downloads `files[].source`, `manifests[].files` URLs and Helm repository charts over HTTP(S),
/// streaming to disk and hashing as it goes, and checks an expected SHA-256 when one is given.
public struct RemoteFetcher: Sendable {
    public init() {}

    public static func isURL(_ s: String) -> Bool { s.hasPrefix("http://") || s.hasPrefix("https://") }

    /// Downloads `url` to `destination` (atomically). Returns the SHA-256 hex of what was written.
    @discardableResult
    public func fetch(_ url: String, to destination: String, expectedSHA256: String? = nil,
                      progress: ProgressReporter = SilentProgress()) async throws -> String {
        var hex = ""
        try await AtomicFile.writeVia(path: destination) { tmp in
            let client = HTTPClient.shared
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response: HTTPClientResponse
            do { response = try await client.execute(request, timeout: .seconds(300)) } catch {
                throw BuilderError.download(url: url, reason: "\(error)")
            }
            guard response.status == .ok else { throw BuilderError.download(url: url, reason: "HTTP \(response.status.code)") }
            _ = FileManager.default.createFile(atPath: tmp, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
            defer { try? handle.close() }
            var hasher = SHA256()
            for try await var chunk in response.body {
                let bytes = chunk.readBytes(length: chunk.readableBytes) ?? []
                hasher.update(data: bytes)
                handle.write(Data(bytes))
                progress.advance("downloading", by: Int64(bytes.count))
            }
            hex = hasher.finalize().hexString
            if let expected = expectedSHA256?.lowercased(), expected != hex {
                throw BuilderError.shasumMismatch(source: url, expected: expected, actual: hex)
            }
        }
        return hex
    }

    /// Copies a local file, checking its SHA-256 when given.
    public static func copyLocal(_ source: String, to destination: String, expectedSHA256: String?) throws {
        guard FileManager.default.fileExists(atPath: source) else { throw BuilderError.invalid("file not found: \(source)") }
        if let expected = expectedSHA256?.lowercased() {
            let actual = try Digest.sha256(file: source).digest.hex
            guard actual == expected else { throw BuilderError.shasumMismatch(source: source, expected: expected, actual: actual) }
        }
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }
}
