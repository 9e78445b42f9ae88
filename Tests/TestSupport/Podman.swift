import Foundation

/// podman with its own storage root, run root and containers.conf (runc, cgroupfs, lowered ulimits:
/// what works on these machines, see machine-notes), so tests never touch the system's images.
public struct Podman: Sendable {
    public let root: String

    /// Runs `podman --root … --runroot … ARGS…`.
    @discardableResult
    public func run(_ args: [String], check: Bool = false) throws -> ProcessResult {
        try ProcessRunner.run("podman", globalArguments + args,
                              environment: ["CONTAINERS_CONF": root + "/containers.conf"], check: check)
    }

    /// Starts `podman run --rm --name NAME ARGS…` in the foreground as a service (never `-d`: a detached
    /// container's conmon keeps podman's output pipe open). Stop it with `stopContainer(name)`.
    public func startContainer(name: String, _ args: [String]) throws -> BackgroundService {
        try BackgroundService(name: "podman " + name, program: "podman",
                              arguments: globalArguments + ["run", "--rm", "--name", name] + args,
                              environment: ["CONTAINERS_CONF": root + "/containers.conf"],
                              logPath: root + "/\(name).log")
    }

    /// Removes the container (killing it) and waits for its `podman run` to end.
    public func stopContainer(_ name: String, service: BackgroundService) {
        _ = try? run(["rm", "-f", "-t", "0", name])
        service.stop()
    }

    private var globalArguments: [String] { ["--root", root + "/storage", "--runroot", root + "/run"] }
}

/// Gives `body` a private podman under `root` (created) and removes its containers and storage afterwards.
public func withPodman<T>(root: String, _ body: (Podman) async throws -> T) async throws -> T {
    let fm = FileManager.default
    try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
    let conf = """
    [containers]
    default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
    [engine]
    runtime = "runc"
    cgroup_manager = "cgroupfs"
    """
    try Data(conf.utf8).write(to: URL(fileURLWithPath: root + "/containers.conf"))
    let podman = Podman(root: root)
    defer {
        _ = try? podman.run(["rm", "-af", "-t", "0"])
        _ = try? podman.run(["system", "reset", "-f"])
        if let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) {
            for line in mounts.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count > 1, f[1].hasPrefix(root) { _ = try? ProcessRunner.run("umount", ["-l", String(f[1])]) }
            }
        }
        try? fm.removeItem(atPath: root)
    }
    return try await body(podman)
}
