import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// Retries with exponential backoff: what counts as worth retrying (connection errors, 5xx, 429) and
/// how long to wait. One operation (a manifest GET, a whole blob download, a whole upload) is one unit.
struct RetryPolicy: Sendable {
    var retries: Int
    var baseDelay: Duration

    /// The wait before retry number `attempt` (0-based): base·2^attempt with ±25% jitter, at most 30 s,
    /// or the server's Retry-After when it asked for one (at most 60 s).
    func delay(attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(retryAfter, .seconds(60)) }
        let base = baseDelay * (1 << min(attempt, 16))
        let capped = min(base, .seconds(30))
        return capped * Double.random(in: 0.75...1.25)
    }

    /// Runs `body`, retrying transient failures. `host` names the registry in an `.unreachable` error.
    func run<T: Sendable>(host: String, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as TransientFailure {
                guard attempt < retries else { throw error.underlying }
                try await Task.sleep(for: delay(attempt: attempt, retryAfter: error.retryAfter))
            } catch {
                guard let reason = Self.networkFailureReason(error) else { throw error }
                guard attempt < retries else { throw RegistryError.unreachable(host: host, reason: reason) }
                try await Task.sleep(for: delay(attempt: attempt, retryAfter: nil))
            }
            attempt += 1
        }
    }

    /// A short human reason for a network-level error, or nil when `error` is not one.
    static func networkFailureReason(_ error: any Error) -> String? {
        if error is CancellationError { return nil }
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout: return "connection timed out"
            case .readTimeout: return "read timed out"
            case .writeTimeout: return "write timed out"
            case .remoteConnectionClosed: return "connection closed by the server"
            case .tlsHandshakeTimeout: return "TLS handshake timed out"
            case .deadlineExceeded: return "request deadline exceeded"
            case .uncleanShutdown: return "connection closed uncleanly"
            case .getConnectionFromPoolTimeout: return "no connection available in time"
            case .bodyLengthMismatch: return "response shorter than its Content-Length"
            default: return nil
            }
        }
        if let e = error as? IOError { return describeErrno(e.errnoCode) }
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first { return networkFailureReason(first.error) ?? "\(first.error)" }
            if let dns = e.dnsAAAAError ?? e.dnsAError { return "cannot resolve host: \(dns)" }
            return "connection failed"
        }
        if let e = error as? ChannelError {
            switch e {
            case .connectTimeout: return "connection timed out"
            case .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed, .eof: return "connection closed"
            default: return "\(e)"
            }
        }
        if error is SocketAddressError { return "cannot resolve host" }
        let text = String(describing: error)
        // NIOSSL's errors are matched by name so this module needs no TLS import.
        if text.contains("NIOSSL") || text.contains("handshake") || text.contains("BoringSSL") { return "TLS failed: \(text)" }
        if text.contains("NIOConnectionError") || text.contains("connection") { return text }
        return nil
    }

    static func describeErrno(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}

/// A failure worth retrying (5xx, 429) that becomes `underlying` when the retries run out.
struct TransientFailure: Error {
    let underlying: RegistryError
    let retryAfter: Duration?
}
