import Foundation
import OCI
import OutpostCore

/// Flux source mutation: GitRepository to the internal git server (`private-git-server` secret);
/// OCIRepository and HelmRepository (type oci) to `oci://<registry>/<path>` (`private-registry` secret).
///
/// Zarf also asks the registry whether an OCIRepository artifact is a Helm chart (then it drops the
/// checksum tag); this pure module does not talk to registries, so the checksum tag is always used.
struct FluxHooks {
    let config: AgentConfig

    static let gitSecret = "private-git-server"

    func gitRepository(_ repo: ObjectView) throws -> AdmissionResult {
        guard config.gitServerConfigured else { return .allow(message: "no git server configured") }
        guard let url = repo.json["spec"]?["url"]?.stringValue, !url.isEmpty else { throw AdmissionError.missingField("spec.url") }
        let patched = References.hostnamesMatch(config.gitServerAddress, url) ? url
            : try References.gitURL(url, config: config, field: "spec.url")
        var patches = repo.metadataPatch()
        patches.append(.replace("/spec/url", .string(patched)))
        patches.append(.add("/spec/secretRef", ["name": .string(Self.gitSecret)]))
        patches.append(repo.patchedLabelPatch())
        return .allow(patches)
    }

    func helmRepository(_ repo: ObjectView) throws -> AdmissionResult {
        guard (repo.json["spec"]?["type"]?.stringValue ?? "").lowercased() == "oci" else {
            return .allow(message: "HelmRepository is not of type oci: not mutated")
        }
        guard let url = repo.json["spec"]?["url"]?.stringValue, !url.isEmpty else { throw AdmissionError.missingField("spec.url") }
        let patched = References.hostnamesMatch("oci://" + config.registryAddress, url) ? url
            : try References.ociURL(url, target: config.registryAddress, field: "spec.url")
        var patches = repo.metadataPatch()
        patches.append(.replace("/spec/url", .string(patched)))
        if config.registryInternal { patches.append(.add("/spec/insecure", true)) }
        patches.append(.add("/spec/secretRef", ["name": .string(PodHook.pullSecret)]))
        patches.append(repo.patchedLabelPatch())
        return .allow(patches)
    }

    func ociRepository(_ repo: ObjectView, operation: String) throws -> AdmissionResult {
        guard let spec = repo.json["spec"], let url = spec["url"]?.stringValue, !url.isEmpty else {
            throw AdmissionError.missingField("spec.url")
        }
        let ref = spec["ref"]
        let semver = ref?["semver"]?.stringValue ?? ""
        var patchedURL = url
        var newTag: String? = ref?["tag"]?.stringValue
        let alreadyPatched = operation == "UPDATE" && References.hostnamesMatch("oci://" + config.registryAddress, url)
        if !alreadyPatched {
            var withRef = url
            if let d = ref?["digest"]?.stringValue, !d.isEmpty { withRef += "@" + d }
            else if let t = ref?["tag"]?.stringValue, !t.isEmpty { withRef += ":" + t }
            let transformed = try References.image(withRef, target: config.registryAddress, field: "spec.url")
            let parsed: ImageReference
            do { parsed = try ImageReference(parsing: transformed) } catch {
                throw AdmissionError.invalidReference(field: "spec.url", value: url, reason: String(describing: error))
            }
            patchedURL = "oci://" + parsed.name
            if parsed.digest == nil { newTag = parsed.effectiveTag }
        }
        var patches = repo.metadataPatch()
        patches.append(.replace("/spec/url", .string(patchedURL)))
        patches.append(.add("/spec/secretRef", ["name": .string(PodHook.pullSecret)]))
        if config.registryInternal { patches.append(.add("/spec/insecure", true)) }
        if semver.isEmpty, let newTag, !newTag.isEmpty {
            if ref?.objectValue != nil { patches.append(.add("/spec/ref/tag", .string(newTag))) }
            else { patches.append(.add("/spec/ref", ["tag": .string(newTag)])) }
        }
        patches.append(repo.patchedLabelPatch())
        return .allow(patches)
    }
}
