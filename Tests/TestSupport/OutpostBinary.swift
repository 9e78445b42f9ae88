import Foundation

/// Runs the built `outpost` executable as a user would (tests of whole commands: exit codes, stderr,
/// files left behind). `swift build --build-tests` builds it beside the test bundle.
public enum Outpost {
    /// The path of the built `outpost` binary (the test bundle's own build directory).
    public static var binary: String {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("outpost").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("outpost").path,
            repositoryRoot() + "/.build/debug/outpost",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }

    /// Runs `outpost ARGS…` and returns its result (never throws on a non-zero exit).
    @discardableResult
    public static func run(_ args: [String], environment: [String: String]? = nil, cwd: String? = nil,
                           stdin: Data? = nil) throws -> ProcessResult {
        try ProcessRunner.run(binary, args, stdin: stdin, environment: environment, cwd: cwd)
    }
}

/// Builds small single-platform OCI images from directories with `scripts/make-oci-image` (tar, gzip,
/// sha256sum) and pushes them with `skopeo`: test images made with real, independent tools.
public enum ScriptImages {
    /// Makes an image whose layers are `layerSizes` bytes of random data each, in a new OCI layout
    /// under `workDirectory`, and pushes it to `registry` as `repository:tag`. Returns the manifest digest.
    @discardableResult
    public static func push(to registry: DockerRegistry, repository: String, tag: String, layerSizes: [Int],
                            workDirectory: String, architecture: String = "amd64") throws -> String {
        let id = UUID().uuidString
        var roots: [String] = []
        for (i, size) in layerSizes.enumerated() {
            let root = "\(workDirectory)/rootfs-\(id)-\(i)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            var bytes = [UInt8](repeating: 0, count: size)
            for j in bytes.indices { bytes[j] = UInt8.random(in: 0...255) }
            try Data(bytes).write(to: URL(fileURLWithPath: root + "/layer-\(i).bin"))
            roots.append(root)
        }
        let layout = "\(workDirectory)/layout-\(id)"
        defer {
            try? FileManager.default.removeItem(atPath: layout)
            for r in roots { try? FileManager.default.removeItem(atPath: r) }
        }
        let made = try ProcessRunner.run(repositoryRoot() + "/scripts/make-oci-image",
                                         ["--arch", architecture, layout, tag] + roots, check: true)
        var args = ["copy", "-q", "--dest-tls-verify=false"]
        if let c = registry.credentials { args += ["--dest-creds", "\(c.user):\(c.password)"] }
        args += ["oci:\(layout):\(tag)", "docker://\(registry.host)/\(repository):\(tag)"]
        try ProcessRunner.run("skopeo", args, check: true)
        return made.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
