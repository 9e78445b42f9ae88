import Foundation
import OCI

/// Mirrors `repos[]` entries with the host's `git` (a full mirror, or one ref for `url@ref`), into the
/// folder name Zarf uses (`repos/<repo>-<crc32>`).
public struct GitMirror: Sendable {
    public init() {}

    /// Clones `url` into `reposDirectory/<folder>`; returns the folder name.
    public func mirror(_ url: String, into reposDirectory: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/git") else {
            throw BuilderError.toolMissing("git", neededFor: "repos")
        }
        let parsed: ZarfTransform.GitURL
        do { parsed = try ZarfTransform.parseGitURL(url) } catch { throw BuilderError.git(url: url, reason: "\(error)") }
        let folder = try ZarfTransform.gitFolderName(url)
        let dest = reposDirectory + "/" + folder
        let source = parsed.scheme + parsed.hostPath + "/" + parsed.repo + parsed.gitSuffix
        try FileManager.default.createDirectory(atPath: reposDirectory, withIntermediateDirectories: true)
        if parsed.ref.isEmpty {
            try git(["clone", "--quiet", "--mirror", source, dest], url: url)
        } else {
            try git(["clone", "--quiet", "--no-checkout", source, dest], url: url)
            try git(["-C", dest, "fetch", "--quiet", "origin", parsed.ref], url: url)
            try git(["-C", dest, "checkout", "--quiet", "FETCH_HEAD"], url: url)
        }
        return folder
    }

    private func git(_ args: [String], url: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(["GIT_TERMINAL_PROMPT": "0"]) { _, b in b }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw BuilderError.git(url: url, reason: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}

/// Renders `manifests[].kustomizations` with `kubectl kustomize` when kubectl is installed.
public enum Kustomize {
    public static func build(_ path: String, allowAnyDirectory: Bool = false) throws -> Data {
        let candidates = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"]
        guard let kubectl = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BuilderError.toolMissing("kubectl", neededFor: "kustomizations (kubectl kustomize)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: kubectl)
        p.arguments = ["kustomize", path] + (allowAnyDirectory ? ["--load-restrictor", "LoadRestrictionsNone"] : [])
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let group = DispatchGroup()
        let box = ErrBox()
        group.enter()
        DispatchQueue.global().async { box.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw BuilderError.invalid("kustomization \(path): \(String(decoding: box.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return data
    }
    private final class ErrBox: @unchecked Sendable { var data = Data() }
}
