import Foundation

/// A running `outpost-sim` (the in-repo cluster simulator) for end-to-end tests: its kubeconfig and
/// API URL for clients, kubectl bound to it, and image preloading into a node's store.
public struct SimulatorHandle: Sendable {
    public let stateDirectory: String
    public let kubeconfig: String
    /// `https://127.0.0.1:PORT`
    public let apiURL: String
    /// The bearer token in the kubeconfig (for curl-style clients).
    public let token: String
    /// The CA certificate (PEM file) the API server's certificate is signed by.
    public let caCertificate: String
    /// The node port range this simulator allocates from (a random window, so parallel tests don't collide).
    public let nodePortRange: ClosedRange<Int>
    let binary: String

    /// Runs kubectl against the simulator.
    @discardableResult
    public func kubectl(_ args: [String], stdin: Data? = nil, check: Bool = false) throws -> ProcessResult {
        let kubectl = ProcessInfo.processInfo.environment["KUBECTL"] ?? ProcessRunner.which("kubectl")
            ?? ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "kubectl"
        return try ProcessRunner.run(kubectl, ["--kubeconfig", kubeconfig] + args, stdin: stdin, check: check)
    }

    /// Applies YAML with kubectl and fails if kubectl does.
    public func apply(_ yaml: String) throws {
        try kubectl(["apply", "-f", "-"], stdin: Data(yaml.utf8), check: true)
    }

    /// Puts an image archive (docker-archive, oci-archive or OCI layout) into a node's image store,
    /// optionally tagged as `reference`: an image "already on the node".
    public func preload(archive: String, as reference: String? = nil, node: String = "sim-node-1") throws {
        var args = ["load-image", "--state-dir", stateDirectory, "--node", node]
        if let reference { args += ["--name", reference] }
        try ProcessRunner.run(binary, args + [archive], check: true)
    }

    /// A raw API request with curl (verifying TLS against the simulator's CA); returns (HTTP code, body).
    public func request(_ method: String, _ path: String, body: Data? = nil,
                        contentType: String = "application/json") throws -> (code: Int, body: String) {
        var args = ["-sS", "--cacert", caCertificate, "-H", "Authorization: Bearer \(token)", "-X", method,
                    "-w", "\n%{http_code}", apiURL + path]
        if body != nil { args += ["-H", "Content-Type: \(contentType)", "--data-binary", "@-"] }
        let r = try ProcessRunner.run("curl", args, stdin: body)
        let text = r.out
        guard let nl = text.lastIndex(of: "\n") else { return (0, text + r.err) }
        return (Int(text[text.index(after: nl)...]) ?? 0, String(text[..<nl]))
    }

    /// Polls `condition` until it returns true (or throws after `timeout` seconds, with `what` in the message).
    public func waitUntil(_ what: String, timeout: TimeInterval = 90, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? condition()) == true { return }
            try await Task.sleep(nanoseconds: 500_000_000)
        }
        throw SimulatorTimeout(what: what)
    }
}

public struct SimulatorTimeout: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "timed out waiting for \(what)" }
}

/// The built `outpost-sim` executable (`swift build` puts it beside the test bundle).
public func simulatorBinary() throws -> String {
    if let p = ProcessInfo.processInfo.environment["OUTPOST_SIM_BINARY"] { return p }
    let root = repositoryRoot()
    for candidate in [".build/debug/outpost-sim", ".build/release/outpost-sim"] {
        let p = root + "/" + candidate
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    throw ProcessRunnerError.notFound("outpost-sim (run `swift build` first, or set OUTPOST_SIM_BINARY)")
}

/// Starts a simulator for the duration of `body` and always tears it down (containers, image stores,
/// files), even when `body` throws. `nodes` uses `outpost-sim up --node` syntax.
/// `arguments` are passed to `outpost-sim up` as they are (e.g. `["--image-cache", dir]`).
public func withSimulator<T>(nodes: [String] = [], arguments: [String] = [], _ body: (SimulatorHandle) async throws -> T) async throws -> T {
    let binary = try simulatorBinary()
    let state = try makeTemporaryDirectory("outpost-sim")
    let base = 30000 + Int.random(in: 0..<25) * 100
    let range = base...(base + 99)
    var args = ["up", "--state-dir", state, "--node-port-range", "\(range.lowerBound)-\(range.upperBound)", "--output", "json"]
    for n in nodes { args += ["--node", n] }
    args += arguments
    defer {
        _ = try? ProcessRunner.run(binary, ["down", "--state-dir", state])
        try? FileManager.default.removeItem(atPath: state)
    }
    let r = try ProcessRunner.run(binary, args)
    guard r.status == 0 else { throw ProcessRunnerError.failed("outpost-sim up", r) }
    let kubeconfig = state + "/kubeconfig"
    let text = try String(contentsOfFile: kubeconfig, encoding: .utf8)
    func field(_ key: String) -> String {
        text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(key + ":") }
            .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) } ?? ""
    }
    let handle = SimulatorHandle(stateDirectory: state, kubeconfig: kubeconfig, apiURL: field("server"), token: field("token"),
                                 caCertificate: state + "/ca.crt", nodePortRange: range, binary: binary)
    return try await body(handle)
}
