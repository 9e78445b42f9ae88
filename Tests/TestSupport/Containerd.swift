import Foundation

/// A private containerd (Debian's containerd 1.6) with its own root, state and socket in a temporary
/// directory, so a test can pull and run images with `ctr` without touching any system instance.
public struct Containerd: Sendable {
    /// The gRPC socket (`ctr --address`).
    public let socket: String
    public let root: String
    public let service: BackgroundService
    /// The containerd namespace tests use.
    public let namespace = "outpost-test"

    /// Runs `ctr --address SOCK --namespace NS ARGS…` and returns its result (not checked).
    @discardableResult
    public func ctr(_ args: [String]) throws -> ProcessResult {
        try ProcessRunner.run("ctr", ["--address", socket, "--namespace", namespace] + args)
    }

    /// Pulls `reference` over plain HTTP (and unpacks it for this platform).
    @discardableResult
    public func pull(_ reference: String) throws -> ProcessResult {
        try ctr(["images", "pull", "--plain-http", reference])
    }

    /// The manifest (or index) digest containerd recorded for `reference`, from `ctr images ls`.
    public func imageDigest(_ reference: String) throws -> String? {
        let r = try ctr(["images", "ls"])
        for line in r.out.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 3, fields[0] == reference { return String(fields[2]) }
        }
        return nil
    }
}

/// Starts a private containerd for the duration of `body` and always stops it and removes its root
/// (unmounting any snapshot mounts first).
public func withContainerd<T>(_ body: (Containerd) async throws -> T) async throws -> T {
    let dir = try makeTemporaryDirectory("outpost-containerd")
    defer {
        // Snapshots may leave overlay mounts under the root: unmount before removing.
        if let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) {
            for line in mounts.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count > 1, fields[1].hasPrefix(dir) { _ = try? ProcessRunner.run("umount", ["-l", String(fields[1])]) }
            }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
    let containerd = try startContainerd(directory: dir)
    defer { containerd.service.stop() }
    return try await body(containerd)
}

/// Starts containerd with everything under `directory` (the caller stops it and removes the directory).
public func startContainerd(directory dir: String) throws -> Containerd {
    let socket = dir + "/containerd.sock"
    let config = """
    version = 2
    root = "\(dir)/root"
    state = "\(dir)/state"
    disabled_plugins = ["io.containerd.grpc.v1.cri"]
    [grpc]
      address = "\(socket)"
    [ttrpc]
      address = "\(socket).ttrpc"
    [debug]
      level = "warn"
    [metrics]
      address = ""
    """
    try Data(config.utf8).write(to: URL(fileURLWithPath: dir + "/config.toml"))
    let svc = try BackgroundService(name: "containerd", program: "containerd",
                                    arguments: ["--config", dir + "/config.toml"], logPath: dir + "/containerd.log")
    let containerd = Containerd(socket: socket, root: dir, service: svc)
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        if FileManager.default.fileExists(atPath: socket),
           let r = try? containerd.ctr(["version"]), r.status == 0 { return containerd }
        if !svc.process.isRunning { break }
        usleep(100_000)
    }
    svc.stop()
    throw ProcessRunnerError.failed("containerd", ProcessResult(status: -1, stdout: Data(), stderr: Data(svc.log.utf8)))
}
