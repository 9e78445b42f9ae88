import Foundation
import OutpostCore

/// Argo CD mutation: Application `spec.source(s).repoURL`, ApplicationSet git generators, AppProject
/// `spec.sourceRepos` and repository Secrets, each git URL to the internal git server and each `oci://`
/// URL to the internal registry, as Zarf's agent does.
struct ArgoHooks {
    let config: AgentConfig

    /// Whether any of the URLs needs a service that is configured (else nothing is mutated).
    private func anyServiceUsable(_ urls: [String]) -> Bool {
        urls.contains { References.isOCI($0) ? config.registryConfigured : config.gitServerConfigured }
    }

    /// The rewritten URL, or the original when it already points at the internal service or none is configured.
    func patchedRepoURL(_ url: String, field: String) throws -> String {
        if References.isOCI(url) {
            guard config.registryConfigured else { return url }
            if References.hostnamesMatch("oci://" + config.registryAddress, url) { return url }
            return try References.ociURL(url, target: config.registryAddress, field: field)
        }
        guard config.gitServerConfigured else { return url }
        if References.hostnamesMatch(config.gitServerAddress, url) { return url }
        return try References.gitURL(url, config: config, field: field)
    }

    func application(_ app: ObjectView) throws -> AdmissionResult {
        let spec = app.json["spec"]
        let single = spec?["source"]?["repoURL"]?.stringValue
        let multi = (spec?["sources"]?.arrayValue ?? []).map { $0["repoURL"]?.stringValue }
        let urls = ([single] + multi).compactMap { $0 }.filter { !$0.isEmpty }
        guard anyServiceUsable(urls) else { return .allow(message: "no usable git server or registry for these sources") }
        var patches = app.metadataPatch()
        if let single, !single.isEmpty {
            patches.append(.replace("/spec/source/repoURL", .string(try patchedRepoURL(single, field: "spec.source.repoURL"))))
        }
        for (i, url) in multi.enumerated() {
            guard let url, !url.isEmpty else { continue }
            patches.append(.replace("/spec/sources/\(i)/repoURL", .string(try patchedRepoURL(url, field: "spec.sources[\(i)].repoURL"))))
        }
        patches.append(app.patchedLabelPatch())
        return .allow(patches)
    }

    func applicationSet(_ set: ObjectView) throws -> AdmissionResult {
        let generators = set.json["spec"]?["generators"]?.arrayValue ?? []
        let urls = generators.map { $0["git"]?["repoURL"]?.stringValue ?? "" }
        guard anyServiceUsable(urls.filter { !$0.isEmpty }) else { return .allow(message: "no usable git server or registry for these generators") }
        var patches = set.metadataPatch()
        for (i, url) in urls.enumerated() where !url.isEmpty {
            patches.append(.replace("/spec/generators/\(i)/git/repoURL",
                                    .string(try patchedRepoURL(url, field: "spec.generators[\(i)].git.repoURL"))))
        }
        patches.append(set.patchedLabelPatch())
        return .allow(patches)
    }

    /// Source repositories that are not git URLs (such as `*` wildcards) are left as they are.
    func appProject(_ project: ObjectView) throws -> AdmissionResult {
        let repos = (project.json["spec"]?["sourceRepos"]?.arrayValue ?? []).map { $0.stringValue ?? "" }
        guard anyServiceUsable(repos.filter { !$0.isEmpty }) else { return .allow(message: "no usable git server or registry for these sources") }
        var patches = project.metadataPatch()
        for (i, url) in repos.enumerated() where !url.isEmpty {
            let patched: String
            do { patched = try patchedRepoURL(url, field: "spec.sourceRepos[\(i)]") } catch {
                if References.isOCI(url) { throw error }
                continue
            }
            patches.append(.replace("/spec/sourceRepos/\(i)", .string(patched)))
        }
        patches.append(project.patchedLabelPatch())
        return .allow(patches)
    }

    /// A repository Secret: `data.url` rewritten, `data.username/password` set to the pull credentials,
    /// `insecureOCIForceHttp` for an in-cluster registry.
    func repositorySecret(_ secret: ObjectView) throws -> AdmissionResult {
        guard let encoded = secret.json["data"]?["url"]?.stringValue else {
            throw AdmissionError.missingField("data.url (url field not found in argocd repository secret data)")
        }
        guard let raw = Data(base64Encoded: encoded), let url = String(data: raw, encoding: .utf8) else {
            throw AdmissionError.invalidReference(field: "data.url", value: encoded, reason: "not base64 of UTF-8 text")
        }
        let isOCI = References.isOCI(url)
        guard anyServiceUsable([url]) else { return .allow(message: "no usable git server or registry for this repository") }
        let patched = try patchedRepoURL(url, field: "data.url")
        let (user, password) = isOCI ? (config.registryPullUsername, config.registryPullPassword)
            : (config.gitPullUsername, config.gitPullPassword)
        func b64(_ s: String) -> JSONValue { .string(Data(s.utf8).base64EncodedString()) }
        var patches = secret.metadataPatch()
        patches.append(.replace("/data/url", b64(patched)))
        patches.append(.add("/data/username", b64(user)))
        patches.append(.add("/data/password", b64(password)))
        if isOCI && config.registryInternal { patches.append(.add("/data/insecureOCIForceHttp", b64("true"))) }
        patches.append(secret.patchedLabelPatch())
        return .allow(patches)
    }
}
