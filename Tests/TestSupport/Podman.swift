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

/// Static helpers (from the simulator work): podman as configured on these machines (runc, cgroupfs, lowered ulimits: see machine-notes), used by
/// tests to build tiny images without network: busybox-static in a `FROM scratch` image.
extension Podman {
    /// Writes the containers.conf podman needs here and returns its path.
    public static func writeContainersConf(in directory: String) throws -> String {
        let path = directory + "/containers.conf"
        try Data("""
        [containers]
        default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
        [engine]
        runtime = "runc"
        cgroup_manager = "cgroupfs"

        """.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Builds an image from `containerfile` (plus `files`: name → contents, and busybox-static as
    /// `busybox` in the context) in a throw-away store and saves it as a docker-archive at `archive`.
    /// The store uses the vfs driver so nothing stays mounted.
    public static func buildImage(containerfile: String, files: [String: Data] = [:], tag: String,
                                  archive: String) throws {
        let work = try makeTemporaryDirectory("outpost-image-build")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let conf = try writeContainersConf(in: work)
        let context = work + "/context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        guard let busybox = ["/bin/busybox", "/usr/bin/busybox"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ProcessRunnerError.notFound("busybox (busybox-static)")
        }
        try FileManager.default.copyItem(atPath: busybox, toPath: context + "/busybox")
        try Data(containerfile.utf8).write(to: URL(fileURLWithPath: context + "/Containerfile"))
        for (name, data) in files { try data.write(to: URL(fileURLWithPath: context + "/" + name)) }
        let store = ["--root", work + "/storage", "--runroot", work + "/run", "--storage-driver", "vfs",
                     "--cgroup-manager", "cgroupfs", "--runtime", "runc"]
        let env = ["CONTAINERS_CONF": conf]
        try ProcessRunner.run("podman", store + ["build", "-q", "--network", "none", "-t", tag, context], environment: env, check: true)
        try ProcessRunner.run("podman", store + ["save", "--format", "docker-archive", "-o", archive, tag], environment: env, check: true)
        _ = try? ProcessRunner.run("podman", store + ["rmi", "-af"], environment: env)
    }

    /// A busybox image whose default command is `cmd` (shell form), saved as a docker-archive.
    public static func busyboxImage(archive: String, tag: String = "localhost/test/busybox:1", cmd: String = "sleep 3600") throws {
        let containerfile = """
        FROM scratch
        COPY busybox /bin/busybox
        RUN ["/bin/busybox", "--install", "-s", "/bin"]
        CMD ["/bin/sh", "-c", "\(cmd.replacingOccurrences(of: "\"", with: "\\\""))"]
        """
        try buildImage(containerfile: containerfile, tag: tag, archive: archive)
    }

    /// Pushes a docker-archive to `reference` (`host:port/repo:tag`) with skopeo over plain HTTP.
    public static func push(archive: String, to reference: String, credentials: (user: String, password: String)? = nil) throws {
        var args = ["copy", "--quiet", "--dest-tls-verify=false"]
        if let c = credentials { args += ["--dest-creds", "\(c.user):\(c.password)"] }
        try ProcessRunner.run("skopeo", args + ["docker-archive:" + archive, "docker://" + reference], check: true)
    }
}
